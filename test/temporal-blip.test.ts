// A Temporal blip, on real Baileys against the simulator and the gateway's default timings: with Temporal
// frozen (SIGSTOP) for 12 s and then for 45 s while the outbox is idle, sends answer 202 with their ids
// at once, reach the phone within 10 s of Temporal's return, once each; neither freeze costs a reconnect:
// a session's holder shows it is alive by renewing its lease in Postgres, and Temporal's heartbeat timeout
// for it is only a backstop, 300 s (before, the 45 s freeze cost one, from the stored credentials). And a
// contact's answer to a flow's question written during a freeze reaches the run once Temporal is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { RunningTemporal } from '../stack/temporal.js';
import type { Simulator } from '../simulator/simulator.js';
import { eventually, type Gateway } from './support/gateway.js';
import { ownTemporal, type OwnTemporal } from './support/ownTemporal.js';
import { scenario } from './support/scenario.js';
import { drainActive } from '../db/outbox.js';
import { sendFromPhone } from '../simulator/messages.js';

const OWNER = '905553900001';
const AYSE = '905553900002';
const BERK = '905553900003';
// This file freezes Temporal, so it runs its own dev server.
let own: OwnTemporal;
let temporal: RunningTemporal;
let sim: Simulator;
let gw: Gateway;

const s = scenario({
  name: 'temporal_blip',
  users: [
    [AYSE, 'Ayşe'],
    [BERK, 'Berk'],
  ],
  instances: [{ id: 'shop', phone: OWNER }],
  // The gateway's own default heartbeat timeout (tests use 4 s for quick failovers).
  env: () => ({ TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default', SESSION_HEARTBEAT_TIMEOUT_SECONDS: '20' }),
});
before(async () => {
  own = await ownTemporal('temporal-blip');
  temporal = await own.start();
  ({ sim, gw } = await s.start());
});
after(async () => {
  temporal?.process.kill('SIGCONT');
  await s.stop();
  await temporal?.stop();
  own?.remove();
});

const textOf = (m: Simulator['received'][number]) => m.message.conversation ?? m.message.extendedTextMessage?.text ?? '';
const opens = () =>
  gw.workers[0]!.output()
    .split('\n')
    .filter((l) => l.includes('"session open"')).length;
/** The outbox's drain has ended (it ends OUTBOX_IDLE_MS, 5 s, after its last message), for a second: a send must wake it through Temporal. */
const drainIdle = async () => {
  const idle = async () => !(await drainActive(gw.db, 'shop'));
  await eventually(
    async () => ((await idle()) && (await new Promise((r) => setTimeout(r, 1_000))) === undefined && (await idle())) || undefined,
    30_000,
    'the drain idle',
  );
};

async function blip(seconds: number, t: { diagnostic(message: string): void }) {
  await drainIdle();
  const opensBefore = opens();
  const qrsBefore = (await gw.db('instances').where({ id: 'shop' }).first()).qr;
  temporal.process.kill('SIGSTOP');
  const frozenAt = Date.now();
  const answers: Array<{ status: number; id: string; ms: number; body: string }> = [];
  try {
    for (let n = 1; n <= 10; n++) {
      const body = `${seconds} s blip ${n}`;
      const started = Date.now();
      const res = await gw.request('/api/instance/shop/messages/chat', { method: 'POST', json: { to: AYSE, body } });
      answers.push({ status: res.status, id: ((await res.json()) as { id: string }).id, ms: Date.now() - started, body });
    }
    await new Promise((r) => setTimeout(r, Math.max(0, seconds * 1_000 - (Date.now() - frozenAt))));
  } finally {
    temporal.process.kill('SIGCONT');
  }
  const resumedAt = Date.now();
  const arrived = await eventually(
    async () => {
      const at = answers.map((a) => sim.received.find((m) => m.to === AYSE && !m.ownCopy && textOf(m) === a.body));
      return at.every(Boolean) ? Date.now() : undefined;
    },
    120_000,
    `the ${seconds} s blip's messages at the phone`,
  );
  const slowest = Math.max(...answers.map((a) => a.ms));
  const reconnects = opens() - opensBefore;
  t.diagnostic(
    `${seconds} s freeze: answers ${answers.map((a) => a.status).join(',')}, slowest ${slowest} ms; ` +
      `all at the phone ${arrived - resumedAt} ms after Temporal's return; ${reconnects} reconnect(s)`,
  );
  assert.deepEqual(new Set(answers.map((a) => a.status)), new Set([202]), JSON.stringify(answers));
  // Once each.
  await new Promise((r) => setTimeout(r, 1_000));
  for (const a of answers)
    assert.equal(sim.received.filter((m) => m.to === AYSE && !m.ownCopy && textOf(m) === a.body).length, 1, `${a.body} once`);
  assert.equal((await gw.db('instances').where({ id: 'shop' }).first()).qr, qrsBefore, 'no QR');
  return { slowest, afterReturnMs: arrived - resumedAt, reconnects, answers };
}

test('a 12 s Temporal freeze: sends answer 202 at once, reach the phone within 10 s of its return, and the session does not reconnect', async (t) => {
  const result = await blip(12, t);
  assert.ok(result.afterReturnMs < 10_000, `at the phone ${result.afterReturnMs} ms after the return`);
  assert.equal(result.reconnects, 0, 'no reconnect');
  // The first send finds out that Temporal cannot be reached; the others know it already.
  assert.ok(
    result.answers.slice(1).every((a) => a.ms < 1_000),
    JSON.stringify(result.answers.map((a) => a.ms)),
  );
});

test('a 45 s Temporal freeze: the same, and no reconnect either', async (t) => {
  const result = await blip(45, t);
  assert.ok(result.afterReturnMs < 10_000, `at the phone ${result.afterReturnMs} ms after the return`);
  assert.ok(
    result.answers.slice(1).every((a) => a.ms < 1_000),
    JSON.stringify(result.answers.map((a) => a.ms)),
  );
  assert.equal(result.reconnects, 0, 'no reconnect');
  await eventually(async () => (await gw.db('instances').where({ id: 'shop' }).first()).status === 'open', 60_000, 'open again');
});

test("an answer to a flow's question written while Temporal is frozen reaches the run once Temporal is back", async () => {
  const flow = await gw.request('/api/instance/shop/flows', {
    method: 'POST',
    json: {
      name: 'Soru',
      trigger: { type: 'api' },
      steps: [
        { id: 'q', type: 'ask', text: 'Hangi gün?', save: 'day' },
        { id: 'a', type: 'send', text: 'Tamam: {day}' },
      ],
    },
  });
  const { id } = (await flow.json()) as { id: number };
  assert.equal((await gw.request(`/api/instance/shop/flows/${id}/start`, { method: 'POST', json: { to: BERK } })).status, 200);
  await eventually(async () => sim.received.find((m) => m.to === BERK && textOf(m) === 'Hangi gün?'), 20_000, 'the question');
  temporal.process.kill('SIGSTOP');
  try {
    await sendFromPhone(sim, sim.user(BERK), sim.user(OWNER), { conversation: 'Salı' });
    // Stored while Temporal is away: the session's messages are not held up by the run's.
    await eventually(
      async () =>
        gw
          .db('messages')
          .where({ instance_id: 'shop', chat_id: `${BERK}@s.whatsapp.net`, body: 'Salı' })
          .first(),
      10_000,
      'the answer stored',
    );
    await new Promise((r) => setTimeout(r, 8_000));
  } finally {
    temporal.process.kill('SIGCONT');
  }
  await eventually(async () => sim.received.find((m) => m.to === BERK && textOf(m) === 'Tamam: Salı'), 60_000, "the run's next message");
  await new Promise((r) => setTimeout(r, 1_000));
  const stored = await gw.db('messages').where({ instance_id: 'shop', chat_id: `${BERK}@s.whatsapp.net`, body: 'Tamam: Salı' });
  assert.equal(stored.length, 1, 'stored once');
  const copies = sim.received.filter((m) => m.to === BERK && !m.ownCopy && textOf(m) === 'Tamam: Salı');
  assert.equal(copies.length, 1, `once at the phone (${copies.map((m) => m.id).join(', ')})`);
});
