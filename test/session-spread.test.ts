// Sessions spread over the session workers: the placement and hand-over rules (domain/sessionSpread.ts),
// and the real processes: thirty sessions on one worker, a second and a third joining one after another,
// each taking its share without a QR, then one killed (kill -9) and its sessions spread over the others.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { pickWorker, shareOf, surplusOf } from '../domain/sessionSpread.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { scanQr } from './support/fakePhone.js';

test('a session goes to a worker under its share, weighted by its room; one over its share hands a part of the surplus over', () => {
  // One at a time, counts kept: an even spread.
  const loads = [{ held: 0 }, { held: 0 }, { held: 0 }];
  for (let i = 0; i < 300; i++) pickWorker(loads)!.held++;
  assert.deepEqual(
    loads.map((w) => w.held),
    [100, 100, 100],
  );
  // Three hundred placed from the same counts at once (a restart of everything): still spread, by chance.
  const joined = [{ held: 200 }, { held: 0 }, { held: 0 }];
  const got = [0, 0, 0];
  for (let i = 0; i < 300; i++) got[joined.indexOf(pickWorker(joined)!)]!++;
  assert.equal(got[0], 0, 'none to the worker over its share');
  assert.ok(Math.abs(got[1]! - got[2]!) < 60, got.join());
  // Past the share only.
  assert.equal(pickWorker([{ held: 2 }, { held: 1 }], () => 0.99)!.held, 1);
  assert.equal(pickWorker([]), undefined);

  assert.equal(shareOf(300, 3), 100);
  assert.equal(shareOf(31, 3), 11);
  const [full, fresh] = [{ held: 300 }, { held: 0 }];
  assert.equal(surplusOf([full, fresh], full), Math.ceil((300 - 150 - 7) / 3), 'a third of what is beyond the share and its 5 %');
  assert.equal(surplusOf([full, fresh], fresh), 0);
  assert.equal(surplusOf([{ held: 12 }, { held: 10 }, { held: 8 }], { held: 12 }), 1);
  assert.equal(surplusOf([{ held: 11 }, { held: 10 }, { held: 9 }], { held: 11 }), 0, 'within the tolerance');
  assert.equal(surplusOf([full], full), 0, 'alone');
});

// One worker to start with; heartbeat timeout 4 s (see startGateway).
let gw: Gateway;
before(async () => {
  gw = await startGateway({ name: 'spread', workers: 1 });
});
after(() => gw?.stop());

const SESSIONS = 30;
const ids = Array.from({ length: SESSIONS }, (_, i) => `spread${String(i).padStart(2, '0')}`);
/** Sessions per worker, from the leases renewed within the heartbeat timeout. */
async function heldBy(): Promise<Record<string, number>> {
  const rows = await gw
    .db('session_leases')
    .where('heartbeat_at', '>=', gw.db.raw(`now() - interval '4 seconds'`))
    .groupBy('worker_id')
    .select('worker_id')
    .count({ n: '*' });
  return Object.fromEntries((rows as Array<{ worker_id: string; n: string }>).map((r) => [r.worker_id, Number(r.n)]));
}
const allOpen = async () => (await gw.db('instances').whereIn('id', ids).where({ status: 'open' })).length === SESSIONS;
/** Waits until the workers hold `share` ± `slack` sessions each; returns how long it took. */
async function spreadOver(workers: string[], share: number, slack: number, withinMs: number): Promise<number> {
  const from = Date.now();
  let last: Record<string, number> = {};
  await eventually(
    async () => {
      last = await heldBy();
      return workers.every((w) => Math.abs((last[w] ?? 0) - share) <= slack) && (await allOpen()) ? true : undefined;
    },
    withinMs,
    `${share} ± ${slack} sessions on each of ${workers.join(', ')}`,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; held: ${JSON.stringify(last)}`);
  });
  return Date.now() - from;
}

test('three workers joining one after another take a third each within a minute, without a QR; a killed one’s sessions spread over the other two', async (t) => {
  for (const id of ids) {
    await gw.request('/api/instance', { method: 'POST', json: { id } });
    // Paired before: the session opens from its stored credentials.
    await scanQr(gw.db, id);
    await gw.request(`/api/instance/${id}/connect`, { method: 'POST' });
  }
  await eventually(allOpen, 60_000, 'all open');
  assert.deepEqual(await heldBy(), { w1: SESSIONS });
  const creds = await gw.db('session_creds').whereIn('instance_id', ids).orderBy('instance_id').pluck('creds');

  gw.startWorker('w2');
  const two = await spreadOver(['w1', 'w2'], SESSIONS / 2, 2, 60_000);
  gw.startWorker('w3');
  const three = await spreadOver(['w1', 'w2', 'w3'], SESSIONS / 3, 2, 60_000);
  // The sessions resumed from their credentials: no QR, no new pairing.
  assert.deepEqual(await gw.db('instances').whereIn('id', ids).whereNotNull('qr').pluck('id'), []);
  assert.deepEqual(await gw.db('session_creds').whereIn('instance_id', ids).orderBy('instance_id').pluck('creds'), creds);
  // GET /metrics says who holds how many.
  const metrics = await (await gw.request('/metrics')).text();
  for (const w of ['w1', 'w2', 'w3']) assert.match(metrics, new RegExp(`wa_sessions_held\\{worker="${w}"\\} \\d+`));

  const victim = gw.workers[2]!;
  victim.child.kill('SIGKILL');
  await victim.exited;
  const afterKill = await spreadOver(['w1', 'w2'], SESSIONS / 2, 2, 60_000);
  t.diagnostic(
    `${SESSIONS} sessions: spread over 2 workers ${two} ms after the second joined, over 3 ${three} ms after the third; ` +
      `over the 2 left ${afterKill} ms after a kill -9 (heartbeat timeout 4 s); held ${JSON.stringify(await heldBy())}`,
  );
  assert.deepEqual(await gw.db('instances').whereIn('id', ids).whereNotNull('qr').pluck('id'), []);
});
