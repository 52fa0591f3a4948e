/**
 * Starts the gateway's real processes (API, workers) for a test, on free
 * ports and an isolated database and task queue, and stops them by pid.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import pino from 'pino';
import { ensureSearchAttributes } from '../../temporal/client.js';
import { createDb, type Db } from '../../db/knex.js';
import { createDatabase, infra } from './infra.js';
import { NODE_FLAGS } from '../../lib/nodeFlags.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

export interface Proc {
  child: ChildProcess;
  /** Everything the process printed so far. */
  output(): string;
  /** Ends when the process exits. */
  exited: Promise<number | null>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function spawnProcess(entry: string, env: NodeJS.ProcessEnv, name = entry): Proc {
  const child = fork(entry, [], {
    cwd: root,
    env: { ...process.env, ...env },
    // PROFILE_DIR=/some/dir writes a CPU profile of each API and worker process when it exits.
    execArgv: [
      '--import',
      'tsx',
      ...NODE_FLAGS,
      ...(process.env.PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.PROFILE_DIR}`] : []),
    ],
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  let output = '';
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    output: () => output,
    exited,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      await exited;
      clearTimeout(timer);
      if (process.env.TEST_VERBOSE) process.stderr.write(`--- ${name} ---\n${output}\n`);
    },
  };
}

export interface Gateway {
  baseUrl: string;
  token: string;
  db: Db;
  env: NodeJS.ProcessEnv;
  api: Proc;
  workers: Proc[];
  startApi(extraEnv?: NodeJS.ProcessEnv): Promise<{ proc: Proc; baseUrl: string }>;
  startWorker(workerId: string, extraEnv?: NodeJS.ProcessEnv): Proc;
  /** fetch() against the API with the token. */
  request(path: string, init?: RequestInit & { json?: unknown }): Promise<Response>;
  stop(): Promise<void>;
}

export async function startApi(env: NodeJS.ProcessEnv): Promise<{ proc: Proc; baseUrl: string }> {
  const proc = spawnProcess('api/main.ts', { ...env, PORT: '0' }, 'api');
  const port = await new Promise<number>((resolve, reject) => {
    proc.child.on('message', (m: { type?: string; port?: number }) => m.type === 'listening' && resolve(m.port!));
    void proc.exited.then((code) => reject(new Error(`API exited (${code}) before listening:\n${proc.output()}`)));
  });
  return { proc, baseUrl: `http://127.0.0.1:${port}` };
}

/**
 * A gateway for one test file: its own database and task queue on the shared
 * Postgres and Temporal. `workers` are started with ids w1, w2, ... The caller
 * stops it (`after(() => gw.stop())` at the file's top level).
 */
export async function startGateway(options: {
  name: string;
  workers?: number;
  env?: NodeJS.ProcessEnv;
  workerEntry?: string;
}): Promise<Gateway> {
  const { temporalAddress, workflowBundle } = await infra();
  const databaseUrl = await createDatabase(options.name);
  // Workflow ids (session-{instance}, outbox-{instance}) are unique per namespace: each gateway gets its own.
  const namespace = await createNamespace(temporalAddress, `t-${options.name}-${randomBytes(3).toString('hex')}`);
  const token = randomBytes(16).toString('hex');
  const env: NodeJS.ProcessEnv = {
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: namespace,
    TASK_QUEUE: `t-${options.name}-${randomBytes(3).toString('hex')}`,
    API_TOKEN: token,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'info',
    // Many workers run at once here: none serves metrics unless a test asks for it.
    WORKER_METRICS_PORT: '0',
    SESSION_HEARTBEAT_TIMEOUT_SECONDS: '4',
    // Tests poll the API; the rate limit has its own test.
    RATE_LIMIT_PER_MINUTE: '0',
    WORKFLOW_BUNDLE: workflowBundle,
    ...options.env,
  };
  const workerEntry = options.workerEntry ?? 'test/support/fakeWorker.ts';
  // Unbounded: tests and benchmarks set up large data sets with it (the gateway's own processes are bounded).
  const db = createDb(databaseUrl, { poolMax: 4, queryTimeoutMs: 0 });
  const apis: Proc[] = [];
  const workers: Proc[] = [];
  const startWorker = (workerId: string, extraEnv: NodeJS.ProcessEnv = {}) => {
    const proc = spawnProcess(workerEntry, { ...env, WORKER_ID: workerId, ...extraEnv }, `worker ${workerId}`);
    workers.push(proc);
    return proc;
  };
  const first = await startApi(env);
  apis.push(first.proc);
  for (let i = 1; i <= (options.workers ?? 1); i++) startWorker(`w${i}`);

  const gateway: Gateway = {
    baseUrl: first.baseUrl,
    token,
    db,
    env,
    api: first.proc,
    workers,
    async startApi(extraEnv = {}) {
      const started = await startApi({ ...env, ...extraEnv });
      apis.push(started.proc);
      return started;
    },
    startWorker,
    request(path, init = {}) {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization') && !headers.has('x-api-key')) headers.set('authorization', `Bearer ${token}`);
      let body = init.body;
      if (init.json !== undefined) {
        headers.set('content-type', 'application/json');
        body = JSON.stringify(init.json);
      }
      return fetch(`${first.baseUrl}${path}`, { ...init, headers, body });
    },
    async stop() {
      await Promise.all([...apis, ...workers].map((p) => p.stop()));
      await db.destroy();
    },
  };
  return gateway;
}

const silent = pino({ level: 'silent' });

/** A fresh Temporal namespace (the dev server makes it usable at once). */
async function createNamespace(address: string, namespace: string): Promise<string> {
  const connection = await Connection.connect({ address });
  try {
    await connection.workflowService.registerNamespace({ namespace, workflowExecutionRetentionPeriod: { seconds: 86_400 as never } });
    // As a worker or the API would at start; done here so that the first test cannot race them.
    await ensureSearchAttributes(new Client({ connection, namespace }), silent);
  } finally {
    await connection.close();
  }
  return namespace;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(
  check: () => Promise<T | undefined | null | false>,
  timeoutMs = 20_000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
