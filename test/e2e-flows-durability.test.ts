// Conversation flows survive anything: a run waiting on a timer and a run waiting for an answer go on
// across kill -9 of the worker holding the session (the session fails over to the other worker) and
// a restart of Temporal. Nothing is skipped, nothing is sent twice, the wait fires at its time, and
// the answer written while the gateway was down reaches its run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import type { RunningTemporal } from '../stack/temporal.js';
import { eventually, type Gateway } from './support/gateway.js';
import { ownTemporal, type OwnTemporal } from './support/ownTemporal.js';
import { scenario } from './support/scenario.js';

// This file restarts Temporal, so it runs its own dev server (its state in a file that survives the restart).
let own: OwnTemporal;
let temporal: RunningTemporal;
let sim: Simulator;
let gw: Gateway;
const OWNER = '905553600001';
const TUNA = '905553600002';
const UMAY = '905553600003';

const s = scenario({
  name: 'e2e_flows_durability',
  users: [
    [TUNA, 'Tuna'],
    [UMAY, 'Umay'],
  ],
  workers: 2,
  env: () => ({ TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default' }),
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => {
  own = await ownTemporal('flows-durability');
  temporal = await own.start();
  ({ sim, gw } = await s.start());
});
after(async () => {
  await s.stop();
  await temporal?.stop();
  own?.remove();
});

const { call } = s;
const textOf = (m: { message: { conversation?: string | null; extendedTextMessage?: { text?: string | null } | null } }) =>
  m.message.conversation ?? m.message.extendedTextMessage?.text ?? '';
const sentTo = (phone: string) => sim.received.filter((m) => m.to === phone && !m.ownCopy && m.from === OWNER);
const texts = (phone: string) => sentTo(phone).map(textOf);
const arrived = (phone: string, text: string, ms = 60_000) =>
  eventually(async () => sentTo(phone).find((m) => textOf(m) === text), ms, `"${text}" at ${phone} (got ${texts(phone).join(' | ')})`);
const WAIT_SECONDS = 25;

test('a wait and a question go on across kill -9 of the session worker (failover) and a Temporal restart: each message once, the wait on time', async () => {
  const flow = async (name: string, steps: unknown[]) => {
    const res = await call<{ id: number }>('/flows', { method: 'POST', json: { name, trigger: { type: 'api' }, steps } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.id;
  };
  const waiting = await flow('Bekleme', [
    { id: 'hello', type: 'send', text: 'Siparişiniz alındı' },
    { id: 'wait', type: 'wait', seconds: WAIT_SECONDS },
    { id: 'later', type: 'send', text: 'Siparişiniz ulaştı mı?' },
  ]);
  const asking = await flow('Soru', [
    { id: 'q', type: 'ask', text: 'Teslimat adresiniz?', save: 'address' },
    { id: 'a', type: 'send', text: 'Adres: {address}' },
  ]);
  const start = async (flowId: number, to: string) => {
    const res = await call<{ runId: string }>(`/flows/${flowId}/start`, { method: 'POST', json: { to } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.runId;
  };
  const waitRun = await start(waiting, TUNA);
  const askRun = await start(asking, UMAY);
  const waitFrom = (await arrived(TUNA, 'Siparişiniz alındı')).receivedAt;
  await arrived(UMAY, 'Teslimat adresiniz?');
  await eventually(
    async () => (await gw.db('flow_runs').whereIn('run_id', [waitRun, askRun]).where({ status: 'waiting' })).length === 2 || undefined,
    10_000,
    'both runs waiting',
  );

  // The worker holding the session dies; the contact answers while the session fails over to the other.
  const holder = (await gw.db('session_leases').where({ instance_id: 'shop' }).first()).worker_id as string;
  const victim = gw.workers[Number(holder.slice(1)) - 1]!;
  victim.child.kill('SIGKILL');
  await victim.exited;
  await sendFromPhone(sim, sim.user(UMAY), sim.user(OWNER), { conversation: 'Kadıköy, İstanbul' });
  // Temporal restarts too, while the timer runs.
  await temporal.stop();
  temporal = await own.start();
  gw.startWorker('w3');

  await arrived(UMAY, 'Adres: Kadıköy, İstanbul');
  const later = await arrived(TUNA, 'Siparişiniz ulaştı mı?');
  const waited = later.receivedAt - waitFrom;
  process.stdout.write(`# the ${WAIT_SECONDS} s wait ended ${waited} ms after it began, across the crash and the restart\n`);
  assert.ok(waited >= WAIT_SECONDS * 1_000 - 1_000, `the wait ended early: ${waited} ms`);
  assert.ok(waited < WAIT_SECONDS * 1_000 + 15_000, `the wait ended late: ${waited} ms`);

  for (const runId of [waitRun, askRun])
    await eventually(
      async () => (await call<{ status: string }>(`/flows/runs/${runId}`)).body.status === 'completed' || undefined,
      20_000,
      `${runId} completed`,
    );
  await new Promise((r) => setTimeout(r, 2_000));
  // Nothing skipped, nothing twice.
  assert.deepEqual(texts(TUNA), ['Siparişiniz alındı', 'Siparişiniz ulaştı mı?']);
  assert.deepEqual(texts(UMAY), ['Teslimat adresiniz?', 'Adres: Kadıköy, İstanbul']);
  const history = (await call<{ history: Array<{ step: string; sent?: string; received?: string }> }>(`/flows/runs/${askRun}`)).body
    .history;
  assert.deepEqual(
    history.map((h) => [h.step, h.sent ?? h.received]),
    [
      ['q', 'Teslimat adresiniz?'],
      ['q', 'Kadıköy, İstanbul'],
      ['a', 'Adres: Kadıköy, İstanbul'],
    ],
  );
});
