import assert from 'node:assert/strict';
import type { Simulator } from '../../simulator/simulator.js';
import { eventually, type Gateway } from './gateway.js';

/** A webhook with no subscriber at its address: the instance's events are recorded all the same. */
export const PLACEHOLDER_WEBHOOK = { webhookUrl: 'http://127.0.0.1:9/hook', webhookEnabled: true };

/** A webhook for the instance, so that its events are recorded (there is no subscriber at that address). */
export async function enableWebhook(gw: Gateway, id: string, settings: Record<string, unknown> = PLACEHOLDER_WEBHOOK) {
  const res = await gw.request(`/api/instance/${id}/settings`, { method: 'POST', json: settings });
  assert.equal(res.status, 200);
}

/**
 * Creates an instance with a webhook (or the `settings` given), connects it, and lets the phone of
 * `phone` scan the QR the API shows.
 */
export async function pairInstance(
  gw: Gateway,
  sim: Simulator,
  id: string,
  phone: string,
  name = 'Owner',
  settings?: Record<string, unknown>,
) {
  sim.addUser(phone, name);
  await gw.request('/api/instance', { method: 'POST', json: { id } });
  await enableWebhook(gw, id, settings);
  await gw.request(`/api/instance/${id}/connect`, { method: 'POST' });
  const qr = await eventually(
    async () => ((await (await gw.request(`/api/instance/${id}/qr`)).json()) as { qrCode: string | null }).qrCode,
    30_000,
    'QR',
  );
  const device = await sim.scanQr(phone, qr);
  await eventually(
    async () =>
      ((await (await gw.request(`/api/instance/${id}/status`)).json()) as { accountStatus: { status: string } }).accountStatus.status ===
      'open',
    30_000,
    'open',
  );
  assert.ok(device);
  return device;
}

/** Watches the instance row while `during` runs and returns every QR it showed. */
export async function qrsShownDuring(gw: Gateway, id: string, during: () => Promise<void>): Promise<string[]> {
  const shown = new Set<string>();
  let watching = true;
  const watch = (async () => {
    while (watching) {
      const row = await gw.db('instances').where({ id }).first();
      if (row?.qr) shown.add(row.qr);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    await during();
  } finally {
    watching = false;
    await watch;
  }
  return [...shown];
}
