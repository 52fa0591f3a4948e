// A database outage is not a holder gone: while the worker cannot reach Postgres its session leases go
// unrenewed, and once it is back every lease looks stale until the holder's next renewal. The sweep that
// fails the activities of holders gone (worker/sweeps.ts) must not take that moment for a dead worker.
// The worker (holder and sweep both) reaches Postgres through a forwarder the test cuts for three lease
// timeouts; the API reaches it directly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { scanQr } from './support/fakePhone.js';
import { enableWebhook } from './support/pairing.js';
import { startTcpForwarder, type TcpForwarder } from './support/proxies.js';

let gw: Gateway;
let link: TcpForwarder;
before(async () => {
  gw = await startGateway({ name: 'lease_outage', workers: 0 });
  const url = new URL(gw.env.DATABASE_URL!);
  link = await startTcpForwarder(Number(url.port));
  url.port = String(link.port);
  gw.startWorker('w1', { DATABASE_URL: url.toString() });
});
after(async () => {
  await gw?.stop();
  await link?.stop();
});

const status = async (id: string) =>
  ((await (await gw.request(`/api/instance/${id}/status`)).json()) as { accountStatus: { status: string } }).accountStatus.status;

test('after a database outage longer than the lease timeout, the live holder keeps its session: not failed, never shown connecting', async () => {
  await gw.request('/api/instance', { method: 'POST', json: { id: 'shop' } });
  await gw.request('/api/instance/shop/connect', { method: 'POST' });
  await eventually(async () => (await gw.db('instances').where({ id: 'shop' }).first()).qr, 20_000, 'QR');
  await scanQr(gw.db, 'shop');
  await eventually(async () => (await status('shop')) === 'open', 20_000, 'open');
  await enableWebhook(gw, 'shop');
  const before = await gw.db('session_leases').where({ instance_id: 'shop' }).first();
  assert.ok(before.task_token, 'the lease carries its activity’s task token');
  const seqBefore = (await gw.db('webhook_events').where({ instance_id: 'shop' }).max({ seq: 'seq' }).first())?.seq ?? 0;

  // Three lease timeouts (4 s here) without the database.
  link.cut();
  await new Promise((resolve) => setTimeout(resolve, 12_000));
  const stale = await gw.db('session_leases').where({ instance_id: 'shop' }).first();
  assert.ok(Date.now() - new Date(stale.heartbeat_at).getTime() > 10_000, 'the lease went unrenewed through the outage');
  link.restore();

  // Renewed again, and the sweep has run many times since (every second here).
  await eventually(
    async () => Date.now() - new Date((await gw.db('session_leases').where({ instance_id: 'shop' }).first()).heartbeat_at).getTime() < 2_000,
    20_000,
    'the lease renewed',
  );
  await new Promise((resolve) => setTimeout(resolve, 5_000));
  const lease = await gw.db('session_leases').where({ instance_id: 'shop' }).first();
  assert.equal(lease.epoch, before.epoch, 'the same lease: the session was not taken up again');
  assert.ok(lease.task_token, 'its activity was not failed');
  assert.equal(await status('shop'), 'open');
  const events = await gw.db('webhook_events').where({ instance_id: 'shop', event: 'connection_status' }).where('seq', '>', seqBefore);
  assert.deepEqual(
    events.map((e) => e.data.status),
    [],
    'never shown connecting',
  );
});
