/**
 * Memory of a session worker holding 1, 10 and 100 connected WhatsApp
 * sessions (real Baileys, paired through the simulator).
 *
 *   npm run bench:sessions [-- 1,10,100]
 *
 * The measured process is a worker with only the `sessions` role (another
 * worker runs the workflows), so its memory is the sockets' and their
 * bookkeeping's. After each level is paired and every session has sent one
 * message, it idles for a while; then its resident memory (RSS) and
 * proportional share (PSS, shared pages divided among their users) are read
 * from /proc. MB per session = growth over the idle worker / sessions. The
 * worker's CPU over the next ten seconds is what idle sessions cost.
 *
 * Then, at each level, one of the sessions sends a burst of texts through the
 * API: the session worker's CPU per message shows whether a send costs more
 * in a worker that holds more sessions (it did, before every AsyncLocalStorage
 * in the worker shared one; see worker/sharedAsyncLocalStorage.ts).
 */
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import WebSocket from 'ws';
import { startGateway, type Gateway } from '../test/support/gateway.js';
import type { SimProcess } from './support/simProcess.js';
import { startBenchStack } from './support/stack.js';
import { pairThroughApi } from './support/pairing.js';
import { cpuSince, readCpu } from './support/cpu.js';
import { jsonClient } from './support/httpClient.js';

const LEVELS = (process.argv[2] ?? '1,10,100').split(',').map(Number);
const SETTLE_MS = 15_000;
/** After settling: how long the idle worker's CPU is watched. */
// Long enough for several lease rounds (every 7.5 s here) and a good part of the sockets' keep-alives (30 s):
// over 10 s, one round more or less moved the figure by a third.
const IDLE_WINDOW_MS = 30_000;
const PARALLEL_PAIRINGS = 5;
/** Other processes whose idle CPU is shown beside the worker's threads. */
const OTHERS = ['temporal server', 'postgres', 'simulator'];
/** The burst each level sends through one session, after a warm-up. */
const BURST = { messages: 1_500, warmup: 300, clients: 20 };
const RECIPIENT = '905558000000';
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);

function memoryOf(pid: number): { rssMb: number; pssMb: number } {
  const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (field: string) => Number(rollup.match(new RegExp(`^${field}:\\s+(\\d+)`, 'm'))?.[1] ?? 0);
  return { rssMb: kb('Rss') / 1024, pssMb: kb('Pss') / 1024 };
}

async function pair(gw: Gateway, sim: SimProcess, n: number): Promise<void> {
  const id = `s${String(n).padStart(3, '0')}`;
  const phone = `90555810${String(n).padStart(4, '0')}`;
  await pairThroughApi(gw, sim, id, phone, `Session ${n}`);
  // One message each, so every session has a Signal session with a contact, as in use.
  const sent = await gw.request(`/api/instance/${id}/messages/chat`, { method: 'POST', json: { to: RECIPIENT, body: 'hello' } });
  if (sent.status !== 200) throw new Error(`${id}: send answered ${sent.status} ${await sent.text()}`);
}

/** CPU ms a process (all its threads) has used so far. */
const cpuOf = (pid: number) => readCpu(pid).get(pid)?.ms ?? NaN;

/**
 * CPU ms each kind of thread of a process has used so far, by the thread's
 * name (/proc/PID/task/TID/comm): the main thread runs JavaScript (the
 * sockets), `tokio-runtime-w` Temporal's Rust core (heartbeats, polls), the
 * `V8 …` threads V8's garbage collection and compiling, `libuv-worker` the
 * thread pool (crypto, files).
 */
/** Starts the CPU profiler of the process whose inspector URL its output names; `stop()` returns the profile. */
async function startProfile(output: string): Promise<{ stop(): Promise<unknown> }> {
  const url = output.match(/Debugger listening on (ws:\/\/\S+)/)?.[1];
  if (!url) throw new Error('the session worker has no inspector (IDLE_PROFILE needs it)');
  const ws = new WebSocket(url);
  await new Promise((resolve, reject) => (ws.once('open', resolve), ws.once('error', reject)));
  let next = 0;
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<Record<string, unknown>>((resolve) => {
      const id = ++next;
      const onMessage = (data: Buffer) => {
        const message = JSON.parse(String(data)) as { id?: number; result?: Record<string, unknown> };
        if (message.id === id) (ws.off('message', onMessage), resolve(message.result ?? {}));
      };
      ws.on('message', onMessage);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call('Profiler.enable');
  await call('Profiler.start');
  return {
    async stop() {
      const { profile } = await call('Profiler.stop');
      ws.close();
      return profile;
    },
  };
}

function threadCpu(pid: number): Map<string, number> {
  const byName = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const name = Number(tid) === pid ? 'main (JavaScript)' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const fields = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      byName.set(name, (byName.get(name) ?? 0) + ((Number(fields[11]) + Number(fields[12])) * 1000) / 100);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return byName;
}

/** `messages` texts through session s001 by `clients` clients, each waiting for its answer: rate, and the worker's CPU per message. */
async function burst(gw: Gateway, pid: number, messages: number, clients: number): Promise<{ rate: number; cpuMs: number }> {
  const http = jsonClient(gw.baseUrl, gw.token);
  let next = 0;
  const cpuBefore = cpuOf(pid);
  const started = Date.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next++ < messages) {
        const res = await http.post('/api/instance/s001/messages/chat', { to: RECIPIENT, body: 'burst' });
        if (res.status !== 200) throw new Error(`burst send answered ${res.status}: ${JSON.stringify(res.json)}`);
      }
    }),
  );
  const elapsed = Date.now() - started;
  http.close();
  return { rate: (messages / elapsed) * 1000, cpuMs: (cpuOf(pid) - cpuBefore) / messages };
}

const stack = await startBenchStack();
const { sim } = stack;
let gw: Gateway | undefined;
stack.atStop(() => gw?.stop());

try {
  await sim.call('addUser', RECIPIENT, 'Recipient');
  gw = await startGateway({
    name: 'bench_sessions',
    workers: 0,
    workerEntry: 'worker/main.ts',
    env: { ...stack.gatewayEnv, SESSION_HEARTBEAT_TIMEOUT_SECONDS: '30' },
  });
  gw.startWorker('general', { WORKER_ROLES: 'general' });
  // IDLE_PROFILE=/some/file.cpuprofile: a CPU profile of the session worker over the last level's idle window
  // (through its inspector; the profiler's own cost is in that window's figures then).
  const sessions = gw.startWorker('sessions', {
    WORKER_ROLES: 'sessions',
    ...(process.env.IDLE_PROFILE ? { NODE_OPTIONS: '--inspect=127.0.0.1:0' } : {}),
  });
  const pid = sessions.child.pid!;
  const sessionsProcOutput = () => sessions.output();
  /** Share of a core the worker uses while its sessions are connected and idle (%). */
  /** Where the idle CPU went, by thread and in the processes on the other side, per level (% of a core). */
  const breakdowns: Array<{ sessions: number; threads: Map<string, number>; others: Map<string, number> }> = [];
  const idleCpu = async (sessions = 0) => {
    const profiling = process.env.IDLE_PROFILE && sessions === LEVELS.at(-1) ? await startProfile(sessionsProcOutput()) : undefined;
    const before = cpuOf(pid);
    const threadsBefore = threadCpu(pid);
    const othersBefore = readCpu();
    await new Promise((r) => setTimeout(r, IDLE_WINDOW_MS));
    if (profiling) writeFileSync(process.env.IDLE_PROFILE!, JSON.stringify(await profiling.stop()));
    const share = (ms: number) => (ms / IDLE_WINDOW_MS) * 100;
    const threads = new Map([...threadCpu(pid)].map(([name, ms]) => [name, share(ms - (threadsBefore.get(name) ?? 0))]));
    // The processes on the other side of the idle sessions' work: Temporal (their heartbeats), Postgres (their
    // leases), the simulator (their sockets' other ends).
    const others = cpuSince(othersBefore);
    breakdowns.push({
      sessions,
      threads,
      others: new Map(OTHERS.map((role) => [role, share(others.get(role) ?? 0)])),
    });
    return share(cpuOf(pid) - before);
  };
  await new Promise((r) => setTimeout(r, SETTLE_MS));
  const idle = memoryOf(pid);
  const rows: Array<{ sessions: number; rssMb: number; pssMb: number; cpu: number }> = [{ sessions: 0, ...idle, cpu: await idleCpu() }];
  const bursts: Array<{ sessions: number; rate: number; cpuMs: number }> = [];
  progress(`idle session worker: RSS ${idle.rssMb.toFixed(0)} MB`);

  let paired = 0;
  for (const level of LEVELS) {
    const started = Date.now();
    while (paired < level) {
      const batch = Array.from({ length: Math.min(PARALLEL_PAIRINGS, level - paired) }, (_, i) => paired + i + 1);
      await Promise.all(batch.map((n) => pair(gw!, sim, n)));
      paired += batch.length;
    }
    progress(`${level} sessions open (pairing took ${((Date.now() - started) / 1000).toFixed(0)} s); settling`);
    await new Promise((r) => setTimeout(r, SETTLE_MS));
    rows.push({ sessions: level, ...memoryOf(pid), cpu: await idleCpu(level) });
    progress(`${level} sessions: sending ${BURST.messages} texts through one of them`);
    await burst(gw, pid, BURST.warmup, BURST.clients);
    bursts.push({ sessions: level, ...(await burst(gw, pid, BURST.messages, BURST.clients)) });
  }

  console.log(
    `\nsession worker memory (MB), ${SETTLE_MS / 1000} s after each level was connected, and its CPU (% of a core) over the next ${IDLE_WINDOW_MS / 1000} s\n`,
  );
  console.log(
    ['sessions', 'RSS', 'PSS', 'RSS/session*', 'PSS/session*', 'idle CPU %'].map((h, i) => (i ? h.padStart(14) : h.padEnd(10))).join(''),
  );
  for (const row of rows) {
    const perSession = (field: 'rssMb' | 'pssMb') => (row.sessions ? ((row[field] - idle[field]) / row.sessions).toFixed(1) : '');
    console.log(
      [
        String(row.sessions).padEnd(10),
        row.rssMb.toFixed(0),
        row.pssMb.toFixed(0),
        perSession('rssMb'),
        perSession('pssMb'),
        row.cpu.toFixed(1),
      ]
        .map((c, i) => (i ? c.padStart(14) : c))
        .join(''),
    );
  }
  const [a, b] = [rows.at(-2)!, rows.at(-1)!];
  console.log(
    `\n* growth over the idle worker, per session. Marginal from ${a.sessions} to ${b.sessions}: ${((b.rssMb - a.rssMb) / (b.sessions - a.sessions)).toFixed(1)} MB RSS per session`,
  );
  // Where the idle CPU goes: the worker's threads by kind, and the other processes.
  const names = [...new Set(breakdowns.flatMap((b) => [...b.threads.keys()]))].filter((name) =>
    breakdowns.some((b) => (b.threads.get(name) ?? 0) >= 0.05),
  );
  console.log(`\nidle CPU (% of a core) by the session worker's threads, and by Temporal's server, Postgres and the simulator\n`);
  console.log(['sessions', ...names, ...OTHERS].map((h, i) => (i ? h.padStart(20) : h.padEnd(10))).join(''));
  for (const b of breakdowns) {
    console.log(
      [
        String(b.sessions).padEnd(10),
        ...names.map((n) => (b.threads.get(n) ?? 0).toFixed(1).padStart(20)),
        ...OTHERS.map((role) => (b.others.get(role) ?? 0).toFixed(1).padStart(20)),
      ].join(''),
    );
  }
  console.log(`\n${BURST.messages} texts through one session, ${BURST.clients} clients, with the others connected and idle\n`);
  console.log(['sessions', 'msgs/s', 'worker CPU ms/msg'].map((h, i) => (i ? h.padStart(20) : h.padEnd(10))).join(''));
  for (const b of bursts) {
    console.log([String(b.sessions).padEnd(10), b.rate.toFixed(0).padStart(20), b.cpuMs.toFixed(2).padStart(20)].join(''));
  }
} finally {
  await stack.stop();
}
