// The durable send path under faults, on real Baileys against the simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { eventually, type Gateway } from './support/gateway.js';
import { scenario } from './support/scenario.js';

const OWNER = '905554000001';
const CAROL = '905554000002';
let sim: Simulator;
let gw: Gateway;
const s = scenario({
  name: 'e2e_durable',
  users: [[CAROL, 'Carol']],
  workers: 2,
  // Drains end after 400 ms without messages, so a test can send across their end.
  env: { SEND_WAIT_MS: '3000', OUTBOX_IDLE_MS: '400' },
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const status = async () =>
  ((await (await gw.request('/api/instance/shop/status')).json()) as { accountStatus: { status: string } }).accountStatus.status;
const sendText = async (body: string) => {
  const res = await gw.request('/api/instance/shop/messages/chat', { method: 'POST', json: { to: CAROL, body } });
  return { status: res.status, body: (await res.json()) as { sent: boolean; id: string; status?: string } };
};
const atCarol = () => sim.received.filter((m) => m.to === CAROL && !m.ownCopy);
const setDelay = (ms: number) => gw.request('/api/instance/shop/settings', { method: 'POST', json: { sendDelay: ms } });

test('while the instance cannot connect a send answers 202 pending, and it goes out once it reconnects', async () => {
  sim.faults.refuse = true;
  sim.dropConnections(OWNER);
  await eventually(async () => (await status()) !== 'open', 20_000, 'not open');
  const { status: code, body } = await sendText('sent while offline');
  assert.equal(code, 202);
  assert.deepEqual(body, { sent: false, id: body.id, status: 'pending' });
  assert.equal(atCarol().filter((m) => m.id === body.id).length, 0);
  sim.faults.refuse = false;
  await eventually(async () => atCarol().find((m) => m.id === body.id), 60_000, 'delivered after reconnect');
  const row = await gw.db('messages').where({ instance_id: 'shop', id: body.id }).first();
  assert.notEqual(row.status, 'pending');
});

test("an instance's messages go out in the order accepted, spaced by sendDelay", async () => {
  await setDelay(400);
  const ids: string[] = [];
  for (let i = 0; i < 4; i++) ids.push((await sendText(`ordered ${i}`)).body.id);
  const got = await eventually(
    async () => {
      const list = atCarol().filter((m) => ids.includes(m.id));
      return list.length === ids.length ? list : undefined;
    },
    30_000,
    'all four',
  );
  assert.deepEqual(
    got.map((m) => m.id),
    ids,
  );
  for (let i = 1; i < got.length; i++) {
    assert.ok(got[i]!.receivedAt - got[i - 1]!.receivedAt >= 320, `gap ${i}: ${got[i]!.receivedAt - got[i - 1]!.receivedAt} ms`);
  }
  await setDelay(0);
});

test('kill -9 of the worker in the middle of a batch: every message reaches the phone exactly once', async () => {
  await setDelay(800);
  const ids = (await Promise.all(Array.from({ length: 6 }, (_, i) => sendText(`batch ${i}`)))).map((r) => r.body.id);
  await eventually(async () => atCarol().filter((m) => ids.includes(m.id)).length >= 2, 30_000, 'two sent');
  const holderId = (await gw.db('session_leases').where({ instance_id: 'shop' }).first()).worker_id;
  const holder = gw.workers.find((w) => w.child.exitCode === null && w.output().includes(`"workerId":"${holderId}"`))!;
  holder.child.kill('SIGKILL');
  await holder.exited;
  const killedAt = Date.now();

  // The outbox gives up the killed worker's drain when the session opens elsewhere, not after the
  // drain's heartbeat timeout (60 s): well within 45 s.
  await eventually(
    async () =>
      new Set(
        atCarol()
          .filter((m) => ids.includes(m.id))
          .map((m) => m.id),
      ).size === ids.length,
    45_000,
    'all six delivered',
  );
  process.stdout.write(`# all six delivered ${Date.now() - killedAt} ms after the kill (heartbeat timeout 4 s)\n`);
  // A message that went out just before the kill may not have its status recorded yet: the new
  // holder sends it again with the same id. A receipt the killed worker got but had not recorded
  // was never acknowledged, so WhatsApp delivers it again: every message ends delivered.
  await eventually(
    async () => {
      const now = await gw.db('messages').where({ instance_id: 'shop' }).whereIn('id', ids).pluck('status');
      return now.every((s) => s === 'delivered') || undefined;
    },
    60_000,
    'every message recorded as delivered',
  );
  const deliveries = atCarol().filter((m) => ids.includes(m.id));
  assert.equal(deliveries.length, ids.length, `each message once: ${deliveries.map((m) => m.id)}`);
  // A message caught exactly at the kill is sent again with the same id; the phone keeps one.
  process.stdout.write(`# resent after the crash (dropped by the phone as duplicates): ${sim.duplicateDeliveries}\n`);
  await setDelay(0);
  gw.startWorker(holderId);
});

test('a receipt that arrives while its worker is killed is kept: acknowledged only once recorded, it reaches the next holder', async () => {
  sim.receiptPolicy = 'none';
  const holderId = (await gw.db('session_leases').where({ instance_id: 'shop' }).first()).worker_id;
  try {
    const { body } = await sendText('a receipt at the kill');
    const statusOf = async () => (await gw.db('messages').where({ instance_id: 'shop', id: body.id }).first('status'))?.status as string;
    await eventually(async () => (await statusOf()) === 'sent' || undefined, 20_000, 'the message sent');
    // The test holds the message's row: the holder's write of the receipt waits (and times out, and is retried).
    const trx = await gw.db.transaction();
    try {
      await trx('messages').where({ instance_id: 'shop', id: body.id }).forUpdate().first();
      await sim.sendReceipt(CAROL, OWNER, [body.id]);
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const unacked = () => sim.unackedReceipts(OWNER).filter((n) => n.attrs.id === body.id).length;
      assert.equal(unacked(), 1, 'the receipt is not acknowledged while it is not recorded');
      const holder = gw.workers.find((w) => w.child.exitCode === null && w.output().includes(`"workerId":"${holderId}"`))!;
      holder.child.kill('SIGKILL');
      await holder.exited;
      // Its database connections die with it: a write still waiting for the row must not land after the kill.
      const { rows } = await trx.raw(
        `select pg_terminate_backend(pid) from pg_stat_activity where pg_backend_pid() = any(pg_blocking_pids(pid))`,
      );
      process.stdout.write(`# writes of the killed worker still waiting for the row: ${rows.length}\n`);
    } finally {
      await trx.rollback();
    }
    const killedAt = Date.now();
    // WhatsApp (the simulator) delivers the unacknowledged receipt again, to the worker that takes the session over.
    await eventually(async () => (await statusOf()) === 'delivered' || undefined, 60_000, 'the receipt recorded by the next holder');
    process.stdout.write(`# receipt recorded ${Date.now() - killedAt} ms after the kill (heartbeat timeout 4 s)\n`);
    await eventually(
      async () => sim.unackedReceipts(OWNER).every((n) => n.attrs.id !== body.id) || undefined,
      10_000,
      'the receipt acknowledged',
    );
  } finally {
    sim.receiptPolicy = 'delivered';
    gw.startWorker(holderId);
  }
});

test('messages sent around the moment an idle drain ends all go out within the request', async () => {
  // Each pause lands near the drain's end (400 ms idle): the message reaches either the ending drain
  // (it looks once more after clearing its flag) or, through a Temporal signal, the next one.
  for (const pauseMs of [350, 380, 395, 400, 405, 410, 420, 450, 500, 800]) {
    await new Promise((resolve) => setTimeout(resolve, pauseMs));
    const started = Date.now();
    const { status: code, body } = await sendText(`after ${pauseMs} ms`);
    assert.equal(code, 200, `sent after a ${pauseMs} ms pause: ${JSON.stringify(body)}`);
    assert.ok(Date.now() - started < 3_000);
  }
  const drains = await gw.db('outbox_drains').where({ instance_id: 'shop' }).first();
  assert.ok(drains, 'the drain flag exists');
});
