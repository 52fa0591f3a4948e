// Accepting a send needs Postgres, not Temporal: with Temporal frozen (SIGSTOP), sends answer with
// their ids at once, a retry with the same Idempotency-Key gets the same message, and everything goes
// out once when Temporal is back, even if the API that accepted them died meanwhile.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningTemporal } from '../stack/temporal.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { scanQr } from './support/fakePhone.js';
import { ownTemporal, type OwnTemporal } from './support/ownTemporal.js';

// This file freezes Temporal, so it runs its own dev server.
let own: OwnTemporal;
let temporal: RunningTemporal;
let gw: Gateway;

before(async () => {
  own = await ownTemporal('temporal-outage');
  temporal = await own.start();
  gw = await startGateway({
    name: 'temporal_outage',
    workers: 1,
    env: {
      TEMPORAL_ADDRESS: temporal.address,
      TEMPORAL_NAMESPACE: 'default',
      FAKE_ACCEPT_SENDS: '1',
      FAKE_LOG_SENDS: '1',
      // The drain ends soon after each message: a later send must wake the outbox through Temporal.
      OUTBOX_IDLE_MS: '300',
      OUTBOX_SWEEP_SECONDS: '2',
      SESSION_HEARTBEAT_TIMEOUT_SECONDS: '30',
      SEND_WAIT_MS: '500',
    },
  });
  await gw.request('/api/instance', { method: 'POST', json: { id: 'shop' } });
  await gw.request('/api/instance/shop/connect', { method: 'POST' });
  await eventually(async () => (await gw.db('instances').where({ id: 'shop' }).first())?.qr, 20_000, 'QR');
  await scanQr(gw.db, 'shop');
  await eventually(async () => (await gw.db('instances').where({ id: 'shop' }).first())?.status === 'open', 20_000, 'open');
});
after(async () => {
  temporal?.process.kill('SIGCONT');
  await gw?.stop();
  await temporal?.stop();
  own?.remove();
});

const send = (n: number) =>
  gw.request('/api/instance/shop/messages/chat', {
    method: 'POST',
    headers: { 'idempotency-key': `outage-${n}` },
    json: { to: '905551110000', body: `during the outage ${n}` },
  });

test('a 20 s Temporal freeze, shorter than the session heartbeat timeout, keeps the socket, and the drain keeps sending', async (t) => {
  const lease = await gw.db('session_leases').where({ instance_id: 'shop' }).first();
  const opened = () =>
    gw.workers[0]!.output()
      .split('\n')
      .filter((l) => l.includes('"session open"')).length;
  const openedBefore = opened();
  // A message every 100 ms keeps the drain (idle after 300 ms) running across the freeze.
  const answers: Array<{ id: string; status: number; sent: boolean; frozen: boolean }> = [];
  let frozen = false;
  let stop = false;
  const sending = (async () => {
    for (let n = 0; !stop; n++) {
      const wasFrozen = frozen;
      const res = await gw.request('/api/instance/shop/messages/chat', {
        method: 'POST',
        json: { to: '905551110001', body: `steady ${n}` },
      });
      const body = (await res.json()) as { id: string; sent: boolean };
      answers.push({ id: body.id, status: res.status, sent: body.sent, frozen: wasFrozen && frozen });
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  await new Promise((r) => setTimeout(r, 1_000));
  temporal.process.kill('SIGSTOP');
  frozen = true;
  await new Promise((r) => setTimeout(r, 20_000));
  temporal.process.kill('SIGCONT');
  frozen = false;
  // Past the drain's heartbeat timeout (10 s): once Temporal is back it retries the drain; sends go on meanwhile.
  await new Promise((r) => setTimeout(r, 5_000));
  stop = true;
  await sending;
  const during = answers.filter((a) => a.frozen);
  const rows = await gw
    .db('messages')
    .where({ instance_id: 'shop' })
    .whereIn(
      'id',
      answers.map((a) => a.id),
    )
    .orderBy('seq')
    .select('status', 'sent_at');
  const sentAt = rows.map((r) => Number(r.sent_at));
  const gaps = sentAt.slice(1).map((at, i) => at - sentAt[i]!);
  const sends = gw.workers[0]!.output()
    .split('\n')
    .filter((l) => l.includes('"fake send"'));
  const once = new Set(answers.map((a) => a.id).filter((id) => sends.some((l) => l.includes(id))));
  const twice = answers.filter((a) => sends.filter((l) => l.includes(a.id)).length > 1).length;
  t.diagnostic(
    `20 s freeze: ${during.length} sends while frozen, ${during.filter((a) => a.sent).length} went out at once; ` +
      `longest gap between two sends ${Math.max(...gaps)} ms (a message every ~100 ms); ${twice} sent twice`,
  );
  assert.ok(during.length >= 50, `${during.length} sends during the freeze`);
  assert.ok(
    during.every((a) => a.status === 200 && a.sent),
    JSON.stringify(during.filter((a) => !a.sent)),
  );
  assert.ok(rows.every((r) => r.status === 'sent'));
  assert.equal(once.size, answers.length, 'every message went out');
  assert.equal(twice, 0, 'no message went out twice');
  // The same session: no reconnect, no new lease.
  assert.equal(opened(), openedBefore, 'the session did not reconnect');
  assert.equal((await gw.db('session_leases').where({ instance_id: 'shop' }).first()).epoch, lease.epoch);
});

test('with Temporal frozen, sends answer 202 with their ids, retries get the same ids, and all go out once when it is back, though their API died', async (t) => {
  const first = await send(0);
  assert.equal(first.status, 200, 'a send before the outage goes out');
  // Let the drain end, so that the next sends need a Temporal signal.
  await new Promise((r) => setTimeout(r, 1_000));

  temporal.process.kill('SIGSTOP');
  const frozenAt = Date.now();
  const answers: Array<{ status: number; id: string; ms: number }> = [];
  for (let n = 1; n <= 20; n++) {
    const started = Date.now();
    const res = await send(n);
    answers.push({ status: res.status, id: ((await res.json()) as { id: string }).id, ms: Date.now() - started });
  }
  assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([202]), JSON.stringify(answers));
  assert.ok(answers.every((a) => /^3EB0/.test(a.id)));
  // A client that retries (it did not trust the 202) gets the same message back.
  for (let n = 1; n <= 20; n += 5) assert.equal(((await (await send(n)).json()) as { id: string }).id, answers[n - 1]!.id);
  const slowest = Math.max(...answers.map((a) => a.ms));
  t.diagnostic(`answers while Temporal was frozen: slowest ${slowest} ms (SEND_WAIT_MS 500)`);
  assert.ok(slowest < 5_000, `a send answered after ${slowest} ms`);

  await new Promise((r) => setTimeout(r, Math.max(0, 8_000 - (Date.now() - frozenAt))));
  // The API that accepted them dies before Temporal is back: the workers' outbox sweep wakes the outbox.
  gw.api.child.kill('SIGKILL');
  await gw.api.exited;
  temporal.process.kill('SIGCONT');
  const resumedAt = Date.now();
  await eventually(
    async () =>
      (await gw.db('messages').where({ instance_id: 'shop' }).whereLike('idempotency_key', 'outage-%').whereNot({ status: 'sent' }))
        .length === 0,
    60_000,
    'every message sent',
  );
  t.diagnostic(`all sent ${Date.now() - resumedAt} ms after Temporal came back`);
  const rows = await gw.db('messages').where({ instance_id: 'shop' }).whereLike('idempotency_key', 'outage-%');
  assert.equal(rows.length, 21, 'one message per key');
});
