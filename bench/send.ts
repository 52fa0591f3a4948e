/**
 * Send rate and latency: the gateway against a bare Baileys socket and against
 * the gateway's own session object, all sending to the same simulator (in its
 * own process) in the same run. The bare socket runs before and again after
 * the gateway; ratios are against both of its runs together, so a machine
 * whose speed drifts during the run does not favour either side. The bare
 * socket runs as a plain JavaScript program would (no source-mapped stacks),
 * but with the gateway's V8 flags (lib/nodeFlags.ts), as do the simulator and
 * the load generator: both ways run Baileys with the same young generation.
 * Like the gateway's sockets, it does not echo what it sends as events
 * (`emitOwnEvents: false`), and it runs at the CPU priority the session
 * worker gives the thread that runs its sockets (SESSION_WORKER_NICE, where
 * the machine allows it; see worker/priority.ts), as does the gateway's
 * session object measured in this process.
 *
 *   npm run bench:send [-- MESSAGES [CLIENTS[,CLIENTS...] [ROUNDS]]]   (defaults: 1000 messages, 50 clients, 1 round)
 *
 * With several ROUNDS the gateway and the bare socket take turns (bare,
 * gateway, bare, gateway, ..., bare), and each gateway run is also compared
 * with the two bare runs around it; the median of those ratios is printed.
 * With several numbers of clients (`-- 3000 50,150,300,600 2`), each is
 * measured that way in turn, and the report ends with the rate each way
 * sustains: its best over them (see bench/support/sendReport.ts).
 *
 * For each way of sending, CLIENTS clients each send their share of
 * MESSAGES texts one after another; latency is from the moment a client
 * submits a message to the moment the recipient's simulated phone has
 * decrypted it. Through the gateway, a client's submission is the HTTP
 * request (POST .../messages/chat, sendDelay 0, one instance), and the API
 * overhead is from the request to the moment the session worker put that
 * message on the socket (messages.sent_at). Each way is warmed
 * up with 2000 messages (500 at each later number of clients) before it is
 * measured.
 *
 * Besides whole-process CPU, the report gives each process's main-thread CPU
 * per message: on a machine with a core per process, the busiest main thread
 * (for the gateway, the session worker's) is what limits the rate. Figures
 * only; the targets are judged by whoever reads them.
 */
import { getPriority, setPriority } from 'node:os';
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
import { niceOf } from '../test/support/processes.js';
import { jsonClient } from './support/httpClient.js';
import { captureConsole } from '../lib/logger.js';
import { loadConfig } from '../config/index.js';
import { NODE_FLAGS } from '../lib/nodeFlags.js';
import { databaseWork, diffWork, seedHistory, statementTimes } from './support/database.js';
import { percentile, reportLevel, reportSustained, type Run } from './support/sendReport.js';

const MESSAGES = Number(process.argv[2] ?? 1_000);
const LEVELS = String(process.argv[3] ?? 50)
  .split(',')
  .map(Number);
if (LEVELS.some((n) => !Number.isInteger(n) || n < 1))
  throw new Error(`CLIENTS must be positive whole numbers, comma-separated: ${process.argv[3]}`);
/** Gateway runs, each followed by a bare socket run: more rounds, less weight on a machine whose speed drifts. */
const ROUNDS = Math.max(1, Number(process.argv[4] ?? 1));
// Each way is warmed up first, at the measured concurrency: until V8 has optimised the hot code,
// a quarter of a process's CPU goes to compiling it (seen with 300 messages at 5 clients), and
// the first way measured would pay for the simulator's warm-up too.
const WARMUP = 2_000;
/** Each later number of clients runs already optimised code; its warm-up only lets the pipeline settle. */
const WARMUP_LATER = 500;
/** Messages already in the gateway's database when it is measured. */
const HISTORY = 100_000;
const RECIPIENT = '905557000000';
const now = () => performance.timeOrigin + performance.now();

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
  return { name, rate: (total / (last - started)) * 1000, latencies, answered, submittedAt: submitted, cpu, mainThread };
}

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

/**
 * Runs `work` with this thread at the priority a session worker gives its sockets' thread (or as
 * close as the machine allows), then back: Baileys runs at the same priority both ways, and the
 * gateway's load generator, which runs here too, at the priority it was started with.
 */
async function atSocketPriority<T>(nice: number, work: () => Promise<T>): Promise<T> {
  const own = getPriority();
  try {
    setPriority(Math.min(own, nice));
  } catch {
    // Not allowed (no CAP_SYS_NICE): neither is it for the session worker.
  }
  try {
    return await work();
  } finally {
    setPriority(own);
  }
}

async function bareSocket(sim: SimProcess): Promise<BareClient> {
  await sim.call('addUser', '905557000001', 'Bare');
  // Configured as the gateway configures its sockets where that changes what a send costs: Baileys' default
  // echo of each sent message as an event took about a third of a bare socket's CPU (its event buffer),
  // which the gateway does not pay, so the ratio would have flattered the gateway.
  const client = new BareClient(sim.url, { emitOwnEvents: false });
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

/** One number of clients: its runs, and where the first gateway run's sends spent their time. */
interface Level {
  concurrency: number;
  runs: Run[];
  diagnosis: string[];
}

/** The first gateway run of a level, with where its sends spent their time and what they cost the database. */
async function diagnosedGatewayRun(gw: Gateway, concurrency: number, measureOne: () => Promise<Run>) {
  await gw.db.raw('select pg_stat_statements_reset()');
  const dbBefore = await databaseWork(gw);
  const run = await measureOne();
  const dbWork = diffWork(dbBefore, await databaseWork(gw), MESSAGES);
  const statements = await statementTimes(gw, MESSAGES);
  const rows = await gw
    .db('messages')
    .where({ instance_id: 'bench' })
    .whereIn('id', [...run.submittedAt.keys()])
    .select('id', 'created_at', 'sent_at');
  const since = (r: Record<string, Date>, from: string, to: string) =>
    new Date(r[to]!).getTime() - (from === 'request' ? run.submittedAt.get(r.id as never)! : new Date(r[from]!).getTime());
  run.overhead = rows.map((r) => since(r, 'request', 'sent_at'));
  const stages = [
    ['request → stored (API)', 'request', 'created_at'],
    ['stored → on the socket (outbox)', 'created_at', 'sent_at'],
  ] as const;
  const breakdown = stages.map(([label, from, to]) => {
    const values = rows.map((r) => since(r, from, to));
    return `  ${label.padEnd(36)} p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms   p99 ${percentile(values, 99).toFixed(1).padStart(7)} ms`;
  });
  const diagnosis = [
    `\nwhere a gateway send spends its time (${concurrency} clients, first gateway run):\n${breakdown.join('\n')}`,
    `\ndatabase work per message: ${dbWork}`,
    `\ndatabase time per message, by statement (pg_stat_statements; wall clock, so lock waits and CPU contention count):`,
    `  ${'execute'.padStart(9)}  ${'plan'.padStart(8)}  calls plans  rows\n${statements}`,
  ];
  return { run, diagnosis };
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
const socketNice = loadConfig({ ...process.env, ...stack.gatewayEnv }).SESSION_WORKER_NICE;
const asSocket = <T>(work: () => Promise<T>) => atSocketPriority(socketNice, work);
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

  progress('bare Baileys socket: pairing');
  bare = await bareSocket(sim);
  const bareSend = async () => (await bare!.socket!.sendMessage(to, { text: 'bench' }))!.key.id!;

  progress('gateway: starting the API and a worker, pairing an instance');
  gw = await startGateway({
    name: 'bench_send',
    workers: 1,
    workerEntry: 'worker/main.ts',
    env: stack.gatewayEnv,
  });
  await pairThroughApi(gw, sim, 'bench', '905557000003', 'Gateway');
  const priorities = `CPU priority (nice) of the thread running Baileys: session worker ${niceOf(gw.workers[0]!.child.pid!)}, bare socket and session object ${await asSocket(async () => getPriority())}`;
  await seedHistory(gw, HISTORY);
  await gw.db.raw('create extension if not exists pg_stat_statements');
  const http = jsonClient(gw.baseUrl, gw.token);
  const gatewaySend = async () => {
    const res = await http.post('/api/instance/bench/messages/chat', { to: RECIPIENT, body: 'bench' });
    if (res.status !== 200 && res.status !== 202) throw new Error(`send answered ${res.status}: ${JSON.stringify(res.json)}`);
    return (res.json as { id: string }).id;
  };

  const levels: Level[] = [];
  for (const [i, concurrency] of LEVELS.entries()) {
    const warmup = i === 0 ? WARMUP : WARMUP_LATER;
    const run = (name: string, send: (n: number) => Promise<string>) => measure(name, MESSAGES, concurrency, arrivedAt, send);
    progress(`${concurrency} clients: bare Baileys socket`);
    await asSocket(() => measure('warm-up', warmup, concurrency, arrivedAt, bareSend));
    const runs = [await asSocket(() => run('bare Baileys socket', bareSend))];
    progress(`${concurrency} clients: gateway`);
    await measure('warm-up', warmup, concurrency, arrivedAt, gatewaySend);
    const first = await diagnosedGatewayRun(gw, concurrency, () => run('gateway over HTTP (one instance)', gatewaySend));
    runs.push(first.run);
    // The bare socket again, after the gateway: a machine whose speed drifts during the run moves both bare figures.
    runs.push(await asSocket(() => run('bare Baileys socket (again)', bareSend)));
    for (let round = 2; round <= ROUNDS; round++) {
      progress(`${concurrency} clients: round ${round} of ${ROUNDS}`);
      runs.push(await run(`gateway over HTTP, round ${round}`, gatewaySend));
      runs.push(await asSocket(() => run(`bare Baileys socket, round ${round}`, bareSend)));
    }
    levels.push({ concurrency, runs, diagnosis: first.diagnosis });
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
  for (const [i, level] of levels.entries()) {
    await asSocket(() => measure('warm-up', i === 0 ? WARMUP : WARMUP_LATER, level.concurrency, arrivedAt, directSend));
    level.runs.push(await asSocket(() => measure("gateway's session.send, direct", MESSAGES, level.concurrency, arrivedAt, directSend)));
  }
  await direct.close();
  direct = undefined;

  for (const level of levels) {
    reportLevel(MESSAGES, level.concurrency, level.runs);
    console.log(level.diagnosis.join('\n'));
  }
  reportSustained(levels);
  console.log(`\n${priorities}`);
  const stats = await sim.call('stats');
  console.log(`\nduplicate deliveries seen by the phones: ${stats.duplicates}`);
} finally {
  await stack.stop();
}
