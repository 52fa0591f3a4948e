/**
 * How sessions spread over session workers that join one after another, and
 * after one is killed (real Baileys, paired through the simulator).
 *
 *   npm run bench:spread [-- SESSIONS]
 *
 * SESSIONS instances (300) are paired while one session worker runs; a second
 * and then a third join (each once the sessions have settled), and then the
 * first is killed (kill -9). After each step it prints how long until every
 * worker held its share within ± 15 % of it (the goal: 100 ± 15 of 300 each,
 * within a minute), and what each held then. A worker with only the
 * `general` role runs the workflows.
 */
import { startGateway, type Gateway } from '../test/support/gateway.js';
import { startBenchStack } from './support/stack.js';
import { pairThroughApi } from './support/pairing.js';

const SESSIONS = Number(process.argv[2] ?? 300);
const PARALLEL_PAIRINGS = 5;
const WITHIN_MS = 180_000;
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

const stack = await startBenchStack();
let gw: Gateway | undefined;
stack.atStop(() => gw?.stop());

/** Sessions per session worker, from the leases renewed within the heartbeat timeout (20 s). */
async function heldBy(): Promise<Record<string, number>> {
  const rows = (await gw!
    .db('session_leases')
    .where('heartbeat_at', '>=', gw!.db.raw(`now() - interval '20 seconds'`))
    .groupBy('worker_id')
    .select('worker_id')
    .count({ n: '*' })) as Array<{ worker_id: string; n: string }>;
  return Object.fromEntries(rows.map((r) => [r.worker_id, Number(r.n)]));
}

/** Waits until each of `workers` holds SESSIONS / workers ± 15 % and every instance is open; how long it took. */
async function spread(workers: string[]): Promise<{ ms: number; held: Record<string, number>; reached: boolean }> {
  const started = Date.now();
  const share = SESSIONS / workers.length;
  let held: Record<string, number> = {};
  while (Date.now() - started < WITHIN_MS) {
    held = await heldBy();
    const open = Number((await gw!.db('instances').where({ status: 'open' }).count({ n: '*' }))[0]!.n);
    if (open === SESSIONS && workers.every((w) => Math.abs((held[w] ?? 0) - share) <= share * 0.15))
      return { ms: Date.now() - started, held, reached: true };
    await new Promise((r) => setTimeout(r, 500));
  }
  return { ms: Date.now() - started, held, reached: false };
}

try {
  gw = await startGateway({
    name: 'bench_spread',
    workers: 0,
    workerEntry: 'worker/main.ts',
    env: { ...stack.gatewayEnv, SESSION_HEARTBEAT_TIMEOUT_SECONDS: '20' },
  });
  gw.startWorker('general', { WORKER_ROLES: 'general' });
  const first = gw.startWorker('s1', { WORKER_ROLES: 'sessions' });
  for (let paired = 0; paired < SESSIONS;) {
    const batch = Array.from({ length: Math.min(PARALLEL_PAIRINGS, SESSIONS - paired) }, (_, i) => paired + i + 1);
    await Promise.all(
      batch.map((n) =>
        pairThroughApi(gw!, stack.sim, `p${String(n).padStart(4, '0')}`, `90555820${String(n).padStart(4, '0')}`, `Phone ${n}`),
      ),
    );
    paired += batch.length;
    if (paired % 50 === 0 || paired === SESSIONS) progress(`${paired} paired`);
  }
  const rows: Array<{ step: string; ms: number; held: Record<string, number>; reached: boolean }> = [];
  rows.push({ step: `${SESSIONS} paired on s1`, ...(await spread(['s1'])) });
  gw.startWorker('s2', { WORKER_ROLES: 'sessions' });
  rows.push({ step: 's2 joins', ...(await spread(['s1', 's2'])) });
  progress('s2 took its share');
  gw.startWorker('s3', { WORKER_ROLES: 'sessions' });
  rows.push({ step: 's3 joins', ...(await spread(['s1', 's2', 's3'])) });
  progress('s3 took its share');
  first.child.kill('SIGKILL');
  await first.exited;
  rows.push({ step: 's1 killed (kill -9)', ...(await spread(['s2', 's3'])) });

  const qrs = Number((await gw.db('instances').whereNotNull('qr').count({ n: '*' }))[0]!.n);
  console.log(
    `\nSessions spread over session workers: ${SESSIONS} sessions, heartbeat timeout 20 s, goal each worker's share ± 15 % within 60 s\n`,
  );
  console.log(`| step | time to the spread | s1 | s2 | s3 |`);
  console.log(`|---|---|---|---|---|`);
  for (const row of rows)
    console.log(
      `| ${row.step} | ${row.reached ? `${(row.ms / 1000).toFixed(1)} s` : `not within ${WITHIN_MS / 1000} s`} | ${row.held.s1 ?? 0} | ${row.held.s2 ?? 0} | ${row.held.s3 ?? 0} |`,
    );
  console.log(`\nInstances showing a QR at the end: ${qrs}`);
} finally {
  await stack.stop();
}
