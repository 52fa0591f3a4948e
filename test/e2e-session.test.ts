// The gateway's sessions on real Baileys, against the WhatsApp Web simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { eventually, type Gateway } from './support/gateway.js';
import { scenario } from './support/scenario.js';
import { enableWebhook, qrsShownDuring } from './support/pairing.js';

let sim: Simulator;
let gw: Gateway;
const s = scenario({ name: 'e2e_session', workers: 2 });
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const json = async (res: Response) => (await res.json()) as Record<string, any>;
const status = async (id: string) => (await json(await gw.request(`/api/instance/${id}/status`))).accountStatus.status as string;
const holder = async (id: string) => (await gw.db('session_leases').where({ instance_id: id }).first())?.worker_id as string | undefined;

/** Creates an instance, connects it, and lets the phone of `phone` scan the QR the API shows. */
async function pair(id: string, phone: string, name: string) {
  sim.addUser(phone, name);
  await gw.request('/api/instance', { method: 'POST', json: { id } });
  await enableWebhook(gw, id);
  await gw.request(`/api/instance/${id}/connect`, { method: 'POST' });
  const qr = await eventually(async () => (await json(await gw.request(`/api/instance/${id}/qr`))).qrCode as string | null, 30_000, 'QR');
  assert.equal(await status(id), 'connecting');
  const device = await sim.scanQr(phone, qr);
  await eventually(async () => (await status(id)) === 'open', 30_000, 'open after scan');
  return device;
}

test('an instance pairs by scanning the QR from GET /qr: connecting → open, /me answers, events recorded', async () => {
  const device = await pair('shop', '905551230001', 'Dükkan');
  const me = await json(await gw.request('/api/instance/shop/me'));
  assert.equal(me.id, `905551230001:${device.deviceId}@s.whatsapp.net`);
  assert.equal(me.phone, '905551230001');
  const events = await gw.db('webhook_events').where({ instance_id: 'shop', event: 'connection_status' }).orderBy('seq');
  assert.deepEqual(
    events.map((e) => e.data.status),
    ['connecting', 'connected'],
  );
  assert.equal(events[1].data.account.phone, '905551230001');
  const creds = await gw.db('session_creds').where({ instance_id: 'shop' }).first();
  assert.ok(creds, 'credentials are stored in Postgres');
  assert.ok(
    (await gw.db('session_keys').where({ instance_id: 'shop', type: 'pre-key' }).count<{ count: string }[]>('* as count'))[0]!.count !==
      '0',
  );
});

test('restart reconnects with the stored credentials, without a QR', async () => {
  const events = () => gw.db('webhook_events').where({ instance_id: 'shop', event: 'connection_status' }).orderBy('seq');
  const before = (await events()).length;
  const qrs = await qrsShownDuring(gw, 'shop', async () => {
    await gw.request('/api/instance/shop/restart', { method: 'POST' });
    // The socket closed and reopened: connecting, then connected again.
    await eventually(async () => (await events()).length >= before + 2 && (await status('shop')) === 'open', 30_000, 'reopened');
  });
  assert.deepEqual(
    (await events()).slice(before).map((e) => e.data.status),
    ['connecting', 'connected'],
  );
  assert.deepEqual(qrs, []);
});

test('a dropped connection is re-established by itself', async () => {
  const device = [...sim.user('905551230001').companions.values()][0]!;
  const before = sim.connectionOf(device);
  assert.ok(before, 'connected before the drop');
  assert.ok(sim.dropConnections('905551230001') > 0);
  await eventually(
    async () => {
      const now = sim.connectionOf(device);
      return now && now !== before && (await status('shop')) === 'open';
    },
    30_000,
    'a new connection',
  );
});

test('kill -9 of the worker holding the session: the other worker logs in with the stored credentials, no QR', async () => {
  const first = (await holder('shop'))!;
  const victim = gw.workers.find((w) => w.child.exitCode === null && w.output().includes(`"workerId":"${first}"`))!;
  assert.ok(victim, `worker ${first} is running`);
  const qrs = await qrsShownDuring(gw, 'shop', async () => {
    victim.child.kill('SIGKILL');
    await victim.exited;
    await eventually(
      async () => {
        const now = await holder('shop');
        return now && now !== first && (await status('shop')) === 'open';
      },
      60_000,
      'open on the other worker',
    );
  });
  assert.deepEqual(qrs, []);
  gw.startWorker(first);
});

test('logout from the phone ends in disconnected, and connecting again shows a fresh QR', async () => {
  await pair('phone-out', '905551230002', 'Kasa');
  await sim.removeDevice('905551230002');
  await eventually(async () => (await status('phone-out')) === 'disconnected', 30_000, 'disconnected');
  assert.equal(await gw.db('session_creds').where({ instance_id: 'phone-out' }).first(), undefined);
  await gw.request('/api/instance/phone-out/connect', { method: 'POST' });
  const qr = await eventually(
    async () => (await json(await gw.request('/api/instance/phone-out/qr'))).qrCode as string | null,
    30_000,
    'fresh QR',
  );
  assert.match(qr, /^data:image\/png;base64,/);
});

test('logout through the API unlinks the device on WhatsApp', async () => {
  const device = await pair('api-out', '905551230003', 'Depo');
  await gw.request('/api/instance/api-out/logout', { method: 'POST' });
  await eventually(async () => (await status('api-out')) === 'disconnected', 30_000, 'disconnected');
  assert.equal(device.removed, true, 'WhatsApp (the simulator) no longer lists the device');
});
