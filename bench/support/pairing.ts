import { eventually, type Gateway } from '../../test/support/gateway.js';
import type { SimProcess } from './simProcess.js';

/** Creates instance `id`, connects it and lets the simulated phone of `phone` scan the QR the API shows. */
export async function pairThroughApi(gw: Gateway, sim: SimProcess, id: string, phone: string, name: string): Promise<void> {
  await sim.call('addUser', phone, name);
  await gw.request('/api/instance', { method: 'POST', json: { id } });
  await gw.request(`/api/instance/${id}/connect`, { method: 'POST' });
  const qr = await eventually(async () => ((await (await gw.request(`/api/instance/${id}/qr`)).json()) as { qrCode: string | null }).qrCode, 120_000, `QR of ${id}`);
  await sim.call('scan', phone, qr);
  await eventually(
    async () => ((await (await gw.request(`/api/instance/${id}/status`)).json()) as { accountStatus: { status: string } }).accountStatus.status === 'open',
    120_000,
    `${id} open`,
  );
}
