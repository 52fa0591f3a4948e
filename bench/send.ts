/**
 * Send rate and latency: the gateway against a bare Baileys socket and against
 * the gateway's own session object, all sending to the same simulator (in its
 * own process) in the same run. The bare socket runs before and again after
 * the gateway; ratios are against both of its runs together, so a machine
 * whose speed drifts during the run does not favour either side. The bare
 * socket runs as a plain JavaScript program would (no source-mapped stacks),
 * but with the gateway's V8 flags (lib/nodeFlags.ts), as do the simulator and
 * the load generator: both ways run Baileys with the same young generation.
 *
 *   npm run bench:send [-- MESSAGES [CONCURRENCY [ROUNDS]]]   (defaults: 1000 messages, 50 clients, 1 round)
 *
 * With several ROUNDS the gateway and the bare socket take turns (bare,
 * gateway, bare, gateway, ..., bare), and each gateway run is also compared
 * with the two bare runs around it; the median of those ratios is printed.
 *
 * For each way of sending, CONCURRENCY clients each send their share of
 * MESSAGES texts one after another; latency is from the moment a client
 * submits a message to the moment the recipient's simulated phone has
 * decrypted it. Through the gateway, a client's submission is the HTTP
 * request (POST .../messages/chat, sendDelay 0, one instance), and the API
 * overhead is from the request to the moment the session worker's outbox
 * began sending that message (messages.last_attempt_at). Each way is warmed
 * up with 2000 messages at the same concurrency before it is measured.
 *
 * Besides whole-process CPU, the report gives each process's main-thread CPU
 * per message: on a machine with a core per process, the busiest main thread
 * (for the gateway, the session worker's) is what limits the rate. Figures
 * only; the targets are judged by whoever reads them.
 */
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { startGateway, type Gateway } from '../test/support/gateway.js';
import { BareClient, WA_VERSION, waitFor } from '../test/support/bareBaileys.js';
import { createBaileysDriver } from '../whatsapp/baileys/driver.js';
import type { AuthStore, WhatsAppSession } from '../whatsapp/session.js';
import type { SimProcess } from './support/simProcess.js';
import { startBenchStack } from './support/stack.js';
import { pairThroughApi } from './support/pairing.js';
import { readCpu, cpuSince } from './support/cpu.js';
import { jsonClient } from './support/httpClient.js';
import { captureConsole } from '../lib/logger.js';
import { NODE_FLAGS } from '../lib/nodeFlags.js';
import { databaseWork, diffWork, seedHistory, statementTimes } from './support/database.js';

const MESSAGES = Number(process.argv[2] ?? 1_000);
const CONCURRENCY = Number(process.argv[3] ?? 50);
/** Gateway runs, each followed by a bare socket run: more rounds, less weight on a machine whose speed drifts. */
const ROUNDS = Math.max(1, Number(process.argv[4] ?? 1));
// Each way is warmed up first, at the measured concurrency: until V8 has optimised the hot code,
// a quarter of a process's CPU goes to compiling it (seen with 300 messages at 5 clients), and
// the first way measured would pay for the simulator's warm-up too.
const WARMUP = 2_000;
/** Messages already in the gateway's database when it is measured. */
const HISTORY = 100_000;
const RECIPIENT = '905557000000';
const now = () => performance.timeOrigin + performance.now();

interface Run {
  name: string;
  /** CPU ms per message, by process role. */
  cpu?: Map<string, number>;
  /** The same for each process's main thread, where its JavaScript runs. */
  mainThread?: Map<string, number>;
  /** Messages per second, first submission to last arrival. */
  rate: number;
  latencies: number[];
  /** From submission to the moment the send call returned (for the gateway: its HTTP response). */
  answered: number[];
  overhead?: number[];
}

/** Waits for each message id at the phone; resolves with its arrival time. */
function arrivals(sim: SimProcess) {
  const arrived = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  sim.onReceived((id, at, to) => {
    if (to !== RECIPIENT) return;
    const wake = waiting.get(id);
    if (wake) wake(at);
    else arrived.set(id, at);
  });
  return (id: string) =>
    new Promise<number>((resolve, reject) => {
      const at = arrived.get(id);
      if (at !== undefined) return resolve(at);
      const timer = setTimeout(() => reject(new Error(`message ${id} never arrived`)), 120_000);
      waiting.set(id, (t) => {
        clearTimeout(timer);
        waiting.delete(id);
        resolve(t);
      });
    });
}

/**
 * Runs `total` sends through `send` (which returns the message id once submitted) with
 * `concurrency` clients, each waiting for its message to arrive before the next.
 */
async function measure(
  name: string,
  total: number,
  concurrency: number,
  arrivedAt: (id: string) => Promise<number>,
  send: (n: number) => Promise<string>,
): Promise<Run> {
  progress(`${name}: ${total} messages`);
  const latencies: number[] = [];
  const answered: number[] = [];
  const submitted = new Map<string, number>();
  const cpuBefore = readCpu();
  const mainBefore = readCpu(process.pid, { mainThread: true });
  let next = 0;
  const started = now();
  let last = started;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        const n = next++;
        const t0 = now();
        const id = await send(n);
        answered.push(now() - t0);
        submitted.set(id, t0);
        const at = await arrivedAt(id);
        latencies.push(at - t0);
        last = Math.max(last, at);
      }
    }),
  );
  const perMessage = (used: Map<string, number>) => new Map([...used].map(([role, ms]) => [role, ms / total]));
  const cpu = perMessage(cpuSince(cpuBefore));
  const mainThread = perMessage(cpuSince(mainBefore, readCpu(process.pid, { mainThread: true })));
  return { name, rate: (total / (last - started)) * 1000, latencies, answered, cpu, mainThread, submittedAt: submitted } as Run & {
    submittedAt: Map<string, number>;
  };
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
};

function memoryAuthStore(): AuthStore {
  let creds: string | null = null;
  const keys = new Map<string, string>();
  return {
    readCreds: async () => creds,
    writeCreds: async (value) => void (creds = value),
    readKeys: async (type, ids) =>
      Object.fromEntries(ids.flatMap((id) => (keys.has(`${type}:${id}`) ? [[id, keys.get(`${type}:${id}`)!]] : []))),
    writeKeys: async (changes) => {
      for (const { type, id, value } of changes) value === null ? keys.delete(`${type}:${id}`) : keys.set(`${type}:${id}`, value);
    },
    clear: async () => {
      creds = null;
      keys.clear();
    },
  };
}

async function bareSocket(sim: SimProcess): Promise<BareClient> {
  await sim.call('addUser', '905557000001', 'Bare');
  const client = new BareClient(sim.url);
  client.connect();
  const qr = await waitFor<string>(client, 'qr');
  const opened = waitFor(client, 'open', 30_000);
  await sim.call('scan', '905557000001', qr);
  await opened;
  return client;
}

async function directSession(sim: SimProcess): Promise<WhatsAppSession> {
  await sim.call('addUser', '905557000002', 'Direct');
  const driver = createBaileysDriver({ wsUrl: sim.url, version: WA_VERSION.join('.'), caFile: sim.ca });
  const auth = memoryAuthStore();
  const logger = pino({ level: 'warn' });
  for (;;) {
    let scanned: Promise<unknown> = Promise.resolve();
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const session = await driver.connect({
      instanceId: 'direct',
      auth,
      logger,
      handlers: { qr: (qr) => void (scanned = sim.call('scan', '905557000002', qr)), open: () => opened() },
    });
    const outcome = await Promise.race([open.then(() => 'open' as const), session.closed]);
    await scanned;
    if (outcome === 'open') return session;
    if (outcome.reason !== 'restartRequired') throw new Error(`direct session closed: ${outcome.reason}`);
  }
}

function report(runs: Run[]) {
  // The baseline: the bare socket's runs (first and last) together.
  const bare = runs.filter((r) => r.name.startsWith('bare'));
  const base: Run = {
    name: 'bare',
    rate: bare.reduce((sum, r) => sum + r.rate, 0) / bare.length,
    latencies: bare.flatMap((r) => r.latencies),
    answered: bare.flatMap((r) => r.answered),
  };
  const row = (cells: string[]) => console.log(cells.map((c, i) => (i === 0 ? c.padEnd(34) : c.padStart(12))).join(''));
  console.log(`\n${MESSAGES} texts, ${CONCURRENCY} concurrent clients; latency = submit → decrypted at the recipient's phone (ms)`);
  console.log(`ratios and + columns: against both bare socket runs together (${base.rate.toFixed(0)} msgs/s)\n`);
  row(['', 'msgs/s', 'p50', 'p99', 'max', 'rate ratio', '+p50', '+p99']);
  for (const run of runs) {
    const [p50, p99] = [percentile(run.latencies, 50), percentile(run.latencies, 99)];
    row([
      run.name,
      run.rate.toFixed(0),
      p50.toFixed(1),
      p99.toFixed(1),
      Math.max(...run.latencies).toFixed(1),
      `${((run.rate / base.rate) * 100).toFixed(0)} %`,
      (p50 - percentile(base.latencies, 50)).toFixed(1),
      (p99 - percentile(base.latencies, 99)).toFixed(1),
    ]);
  }
  if (runs.filter((r) => r.name.startsWith('gateway over HTTP')).length > 1) {
    const paired = runs.flatMap((run, i) =>
      run.name.startsWith('gateway over HTTP') ? [run.rate / ((runs[i - 1]!.rate + runs[i + 1]!.rate) / 2)] : [],
    );
    const shown = paired.map((r) => `${(r * 100).toFixed(0)} %`).join(', ');
    const sorted = [...paired].sort((a, b) => a - b);
    const median = (sorted[Math.floor((sorted.length - 1) / 2)]! + sorted[Math.ceil((sorted.length - 1) / 2)]!) / 2;
    console.log(`\ngateway against the bare runs just before and after it: ${shown}; median ${(median * 100).toFixed(0)} %`);
  }
  console.log('\nCPU per message (ms), by process:');
  for (const run of runs) {
    const parts = [...run.cpu!].filter(([, ms]) => ms >= 0.05).sort((a, b) => b[1] - a[1]);
    const total = parts.reduce((sum, [, ms]) => sum + ms, 0);
    console.log(
      `  ${run.name.padEnd(34)} ${total.toFixed(2).padStart(6)}  (${parts.map(([role, ms]) => `${role} ${ms.toFixed(2)}`).join(', ')})`,
    );
  }
  // A Node process runs its JavaScript on one thread: given a core per process, the busiest main thread
  // sets the rate. (Postgres is left out: it runs a process per connection.)
  console.log('\nMain-thread CPU per message (ms), and the rate that thread allows on its own (1000 / ms):');
  const ceiling = (run: Run) => {
    const [role, ms] = [...run.mainThread!].filter(([r]) => r !== 'postgres').sort((a, b) => b[1] - a[1])[0]!;
    return { role, ms, rate: 1000 / ms };
  };
  const bareCeiling = bare.reduce((sum, r) => sum + ceiling(r).rate, 0) / bare.length;
  for (const run of runs) {
    const parts = [...run.mainThread!].filter(([role, ms]) => ms >= 0.05 && role !== 'postgres').sort((a, b) => b[1] - a[1]);
    const { role, rate } = ceiling(run);
    console.log(
      `  ${run.name.padEnd(34)} ${parts.map(([r, ms]) => `${r} ${ms.toFixed(2)}`).join(', ')}  → ${role}: ${rate.toFixed(0)} msgs/s (${((rate / bareCeiling) * 100).toFixed(0)} %)`,
    );
  }
  for (const run of runs.filter((r) => r.overhead)) {
    console.log(
      `\n${run.name}: API overhead (request in → outbox activity began the send): p50 ${percentile(run.overhead!, 50).toFixed(1)} ms, p99 ${percentile(run.overhead!, 99).toFixed(1)} ms`,
    );
  }
  // A client sends its next message once the last one arrived and its request was answered.
  console.log('\nSend call answered (the gateway: HTTP response; a client waits for it before its next send), ms:');
  for (const run of runs) {
    console.log(
      `  ${run.name.padEnd(34)} p50 ${percentile(run.answered, 50).toFixed(1).padStart(7)}   p99 ${percentile(run.answered, 99).toFixed(1).padStart(7)}`,
    );
  }
}

// ---------------------------------------------------------------------------------

// The bare socket should cost what Baileys costs in a plain JavaScript program; tsx turns on
// source-mapped stack traces, and Baileys captures a stack for every stanza it sends.
process.setSourceMapsEnabled(false);
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
if (!NODE_FLAGS.every((flag) => process.execArgv.includes(flag))) {
  progress(
    `warning: run through npm run bench:send (node ${NODE_FLAGS.join(' ')}): the bare socket would run with other V8 settings than the gateway`,
  );
}
// libsignal prints whole Signal sessions (private keys included) when it closes one: what the
// libraries print goes to a log on stderr, as in the gateway's processes; the report keeps console.log.
const print = console.log;
captureConsole(pino({ level: 'warn' }, pino.destination(2)));
console.log = print;
progress('starting Postgres, Temporal and the simulator');
// pg_stat_statements: the database's time per message, statement by statement.
const stack = await startBenchStack({
  postgresSettings: {
    shared_preload_libraries: 'pg_stat_statements',
    'pg_stat_statements.track': 'all',
    'pg_stat_statements.track_planning': 'on',
  },
});
const { sim } = stack;
let gw: Gateway | undefined;
let bare: BareClient | undefined;
let direct: WhatsAppSession | undefined;
stack.atStop(() => gw?.stop());
stack.atStop(() => direct?.close());
stack.atStop(() => bare?.stop());

try {
  await sim.call('addUser', RECIPIENT, 'Recipient');
  await sim.call('receiptPolicy', 'delivered');
  const arrivedAt = arrivals(sim);
  const to = `${RECIPIENT}@s.whatsapp.net`;
  const runs: Run[] = [];

  progress('bare Baileys socket: pairing');
  bare = await bareSocket(sim);
  const bareSend = async () => (await bare!.socket!.sendMessage(to, { text: 'bench' }))!.key.id!;
  progress('bare Baileys socket: sending');
  await measure('warm-up', WARMUP, CONCURRENCY, arrivedAt, bareSend);
  runs.push(await measure('bare Baileys socket', MESSAGES, CONCURRENCY, arrivedAt, bareSend));

  progress('gateway: starting the API and a worker, pairing an instance');
  gw = await startGateway({
    name: 'bench_send',
    workers: 1,
    workerEntry: 'worker/main.ts',
    env: stack.gatewayEnv,
  });
  await pairThroughApi(gw, sim, 'bench', '905557000003', 'Gateway');
  await seedHistory(gw, HISTORY);
  const http = jsonClient(gw.baseUrl, gw.token);
  const gatewaySend = async () => {
    const res = await http.post('/api/instance/bench/messages/chat', { to: RECIPIENT, body: 'bench' });
    if (res.status !== 200 && res.status !== 202) throw new Error(`send answered ${res.status}: ${JSON.stringify(res.json)}`);
    return (res.json as { id: string }).id;
  };
  await measure('warm-up', WARMUP, CONCURRENCY, arrivedAt, gatewaySend);
  await gw.db.raw('create extension if not exists pg_stat_statements');
  await gw.db.raw('select pg_stat_statements_reset()');
  const dbBefore = await databaseWork(gw);
  const gatewayRun = (await measure('gateway over HTTP (one instance)', MESSAGES, CONCURRENCY, arrivedAt, gatewaySend)) as Run & {
    submittedAt: Map<string, number>;
  };
  const dbWork = diffWork(dbBefore, await databaseWork(gw), MESSAGES);
  const statements = await statementTimes(gw, MESSAGES);
  const rows = await gw
    .db('messages')
    .where({ instance_id: 'bench' })
    .whereIn('id', [...gatewayRun.submittedAt.keys()])
    .select('id', 'created_at', 'last_attempt_at', 'sent_at');
  const since = (r: Record<string, Date>, from: string, to: string) =>
    new Date(r[to]!).getTime() - (from === 'request' ? gatewayRun.submittedAt.get(r.id as never)! : new Date(r[from]!).getTime());
  gatewayRun.overhead = rows.map((r) => since(r, 'request', 'last_attempt_at'));
  runs.push(gatewayRun);
  const stages = [
    ['request → stored (API)', 'request', 'created_at'],
    ['stored → picked up by the outbox', 'created_at', 'last_attempt_at'],
    ['picked up → recorded as sent', 'last_attempt_at', 'sent_at'],
  ] as const;
  const breakdown = stages.map(([label, from, to]) => {
    const values = rows.map((r) => since(r, from, to));
    return `  ${label.padEnd(36)} p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms   p99 ${percentile(values, 99).toFixed(1).padStart(7)} ms`;
  });

  // The bare socket again, after the gateway: a machine whose speed drifts during the run moves both bare figures.
  progress('bare Baileys socket: sending again');
  runs.push(await measure('bare Baileys socket (again)', MESSAGES, CONCURRENCY, arrivedAt, bareSend));
  for (let round = 2; round <= ROUNDS; round++) {
    progress(`round ${round} of ${ROUNDS}`);
    runs.push(await measure(`gateway over HTTP, round ${round}`, MESSAGES, CONCURRENCY, arrivedAt, gatewaySend));
    runs.push(await measure(`bare Baileys socket, round ${round}`, MESSAGES, CONCURRENCY, arrivedAt, bareSend));
  }
  http.close();
  await bare.stop();
  bare = undefined;

  // Last: the gateway's driver makes Baileys' timer stacks cheap in this process (see whatsapp/baileys/stackTraces.ts),
  // and the bare socket's runs must not have that.
  progress("gateway's session object: pairing");
  direct = await directSession(sim);
  let directId = 0;
  const directSend = async () => {
    const id = `3EB0DIRECT${String(directId++).padStart(10, '0')}`;
    await direct!.send({ id, to, content: { type: 'text', body: 'bench' } });
    return id;
  };
  await measure('warm-up', WARMUP, CONCURRENCY, arrivedAt, directSend);
  runs.push(await measure("gateway's session.send, direct", MESSAGES, CONCURRENCY, arrivedAt, directSend));
  await direct.close();
  direct = undefined;

  report(runs);
  console.log(`\nwhere a gateway send spends its time:\n${breakdown.join('\n')}`);
  console.log(`\ndatabase work per message: ${dbWork}`);
  console.log(`\ndatabase time per message, by statement (pg_stat_statements; wall clock, so lock waits and CPU contention count):`);
  console.log(`  ${'execute'.padStart(9)}  ${'plan'.padStart(8)}  calls plans  rows\n${statements}`);
  const stats = await sim.call('stats');
  console.log(`\nduplicate deliveries seen by the phones: ${stats.duplicates}`);
} finally {
  await stack.stop();
}
