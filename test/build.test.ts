// The production build as an operator runs it: `npm run build`, then `NODE_ENV=production npm start`,
// which runs the compiled JavaScript with plain node (no TypeScript compiler in any process) and
// serves the API: an instance pairs with the simulator's phone and a message reaches it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { freePort } from '../stack/ports.js';
import { Simulator } from '../simulator/simulator.js';
import { WA_VERSION } from '../simulator/version.js';
import { processTree } from './support/processes.js';
import { eventually } from './support/gateway.js';

const root = resolve(import.meta.dirname, '..');
const dist = join(root, 'dist');
const dataDir = join(mkdtempSync(join(tmpdir(), 'wa-build-')), 'data');
const OWNER = '905556000001';
const CAROL = '905556000002';
let sim: Simulator;
let stack: ChildProcess;
let output = '';
let build: ReturnType<typeof spawnSync>;
const ports = { api: 0, postgres: 0, temporal: 0, ui: 0 };
const env = () => ({
  ...process.env,
  NODE_ENV: 'production',
  DATA_DIR: dataDir,
  PORT: String(ports.api),
  EMBEDDED_PG_PORT: String(ports.postgres),
  TEMPORAL_DEV_PORT: String(ports.temporal),
  TEMPORAL_UI_PORT: String(ports.ui),
  WORKER_METRICS_PORT: '0',
  WA_WS_URL: sim.url,
  WA_VERSION,
  API_TOKEN: '',
  DATABASE_URL: '',
  TEMPORAL_ADDRESS: '',
  WORKFLOW_BUNDLE: '',
  LOG_LEVEL: 'warn',
});

before(async () => {
  build = spawnSync('npm', ['run', 'build'], { cwd: root, encoding: 'utf8', timeout: 300_000 });
  assert.equal(build.status, 0, `${build.stdout}\n${build.stderr}`);
  sim = await Simulator.start();
  for (const name of Object.keys(ports) as Array<keyof typeof ports>) ports[name] = await freePort();
  // As `NODE_ENV=production npm start` in a terminal: a process group of its own.
  stack = spawn(process.execPath, ['scripts/start.mjs'], { cwd: root, env: env(), stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  stack.stdout!.on('data', (chunk) => (output += chunk));
  stack.stderr!.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => output.includes('[stack] ready in') && (clearInterval(timer), resolve()), 100);
    stack.once('exit', (code) => (clearInterval(timer), reject(new Error(`npm start exited (${code}):\n${output.slice(-4_000)}`))));
  });
});
after(async () => {
  if (stack?.exitCode === null && stack.signalCode === null) process.kill(-stack.pid!, 'SIGKILL');
  await sim?.stop();
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
});

/** Every process of the stack with its command line, `npm start` first. */
const stackProcesses = () =>
  processTree(stack.pid!).flatMap((pid) => {
    try {
      return [{ pid, argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean) }];
    } catch {
      return [];
    }
  });

test('npm run build writes the runtime and its workflow bundle to dist/, without the simulator, tests or benchmarks', () => {
  for (const file of [
    'stack/main.js',
    'api/main.js',
    'worker/main.js',
    'scripts/token.js',
    'scripts/openapi.js',
    'db/migrations/index.js',
    'workflows.bundle.js',
  ])
    assert.ok(existsSync(join(dist, file)), `dist/${file}`);
  for (const folder of ['simulator', 'test', 'bench']) assert.equal(existsSync(join(dist, folder)), false, `dist/${folder}`);
  assert.equal(existsSync(join(dist, 'stack/demo.js')), false, 'the demo needs the simulator');
});

test('no process of the stack runs tsx: the supervisor, API and worker run dist/ with plain node', () => {
  const processes = stackProcesses();
  for (const { pid, argv } of processes) assert.ok(!argv.some((arg) => /tsx/.test(arg)), `${pid} runs ${argv.join(' ')}`);
  for (const entry of ['stack/main.js', 'api/main.js', 'worker/main.js']) {
    const running = processes.find(({ argv }) => argv.includes(join(dist, entry)));
    assert.ok(running, `dist/${entry} among ${processes.map(({ argv }) => argv.join(' ')).join('\n')}`);
    assert.equal(running.argv[0], process.execPath);
  }
});

test('the compiled stack serves the API: health, readiness, instances, pairing and a send that reaches the phone', async () => {
  const base = `http://127.0.0.1:${ports.api}`;
  assert.equal((await fetch(`${base}/health`)).status, 200);
  const ready = await fetch(`${base}/ready`);
  assert.equal(ready.status, 200, await ready.text());
  // The generated token, as an operator reads it: `npm run token` runs the compiled scripts/token.js.
  // Not spawnSync: it would hold this process's event loop (the simulator's too) for seconds, and the HTTP client
  // would then send on a kept-alive connection the API had closed meanwhile ("other side closed").
  const token = await new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn('npm', ['run', '-s', 'token'], { cwd: root, env: env(), timeout: 60_000 });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.once('close', (status) => resolve({ status, stdout, stderr }));
  });
  assert.equal(token.status, 0, token.stderr);
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${base}${path}`, {
      method,
      headers: { authorization: `Bearer ${token.stdout.trim()}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
  assert.deepEqual(await api('POST', '/api/instance', { id: 'shop' }), { status: 200, body: { success: true, instanceId: 'shop' } });
  const list = await api('GET', '/api/instance');
  assert.deepEqual([...list.body.instances].sort(), ['default', 'shop']);
  // The API docs, with the package's version and the docs page's assets, from the compiled tree too.
  const document = (await (await fetch(`${base}/api/openapi.json`)).json()) as { info: { version: string }; paths: object };
  assert.equal(document.info.version, JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version);
  assert.ok(Object.keys(document.paths).length > 50);
  assert.equal((await fetch(`${base}/api/docs/swagger-ui-bundle.js`)).status, 200);

  // The session and outbox workflows run from dist/workflows.bundle.js, Baileys in the compiled worker.
  sim.addUser(OWNER, 'Shop');
  sim.addUser(CAROL, 'Carol');
  await api('POST', '/api/instance/shop/connect');
  const qr = await eventually(async () => (await api('GET', '/api/instance/shop/qr')).body.qrCode as string | null, 60_000, 'QR');
  await sim.scanQr(OWNER, qr);
  await eventually(async () => (await api('GET', '/api/instance/shop/status')).body.accountStatus?.status === 'open', 60_000, 'open');
  const sent = await api('POST', '/api/instance/shop/messages/chat', { to: CAROL, body: 'from the build' });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const atCarol = await eventually(async () => sim.received.find((m) => m.to === CAROL && m.id === sent.body.id), 30_000, 'at Carol');
  assert.equal(atCarol.message.conversation ?? atCarol.message.extendedTextMessage?.text, 'from the build');
});

test('Ctrl-C stops every process the compiled stack started, in order', async () => {
  const pids = stackProcesses().map(({ pid }) => pid);
  process.kill(-stack.pid!, 'SIGINT');
  const code = await new Promise<number | null>((resolve) => stack.once('exit', (c) => resolve(c)));
  assert.equal(code, 0, output.slice(-3_000));
  assert.match(output, /\[stack\] stopped \(API and worker \d+ ms, Temporal \d+ ms, Postgres \d+ ms\)/);
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  await eventually(async () => !pids.some(alive) || undefined, 10_000, `${pids.filter(alive)} exited`);
  const listening = (port: number) =>
    new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('connect', () => (socket.destroy(), resolve(true)));
      socket.once('error', () => resolve(false));
    });
  for (const [name, port] of Object.entries(ports))
    if (name !== 'ui') assert.equal(await listening(port), false, `${name} still listening`);
});
