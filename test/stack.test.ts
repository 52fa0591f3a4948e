// `npm start` as an operator runs it: its secrets kept from other local users (a generated database
// password, files 0600, DATA_DIR 0700), and Ctrl-C stopping everything in order, quickly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from '../stack/ports.js';

const dataDir = join(mkdtempSync(join(tmpdir(), 'wa-stack-')), 'data');
let stack: ChildProcess;
let output = '';
const ports = { api: 0, postgres: 0, temporal: 0, ui: 0 };

before(async () => {
  for (const name of Object.keys(ports) as Array<keyof typeof ports>) ports[name] = await freePort();
  // Its own process group, as a terminal runs it: Ctrl-C goes to the whole group.
  stack = spawn(process.execPath, ['scripts/start.mjs'], {
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      PORT: String(ports.api),
      EMBEDDED_PG_PORT: String(ports.postgres),
      TEMPORAL_DEV_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      API_TOKEN: 'stack-test-token-0123456789',
      LOG_LEVEL: 'info',
      DATABASE_URL: '',
      TEMPORAL_ADDRESS: '',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  stack.stdout!.on('data', (chunk) => (output += chunk));
  stack.stderr!.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => output.includes('[stack] ready in') && (clearInterval(timer), resolve()), 100);
    stack.once('exit', (code) => (clearInterval(timer), reject(new Error(`npm start exited (${code}):\n${output.slice(-4_000)}`))));
  });
});
after(() => {
  if (stack.exitCode === null && stack.signalCode === null) process.kill(-stack.pid!, 'SIGKILL');
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
});

const mode = (path: string) => statSync(path).mode & 0o777;
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });

test('the database password is generated and the files that hold secrets are for this user only', async () => {
  const asRoot = process.getuid?.() === 0;
  // As root, the embedded Postgres runs as its own user, which may pass through (its group: g+x), not read;
  // nobody else may even enter.
  assert.equal(mode(dataDir), asRoot ? 0o710 : 0o700, `DATA_DIR is ${mode(dataDir).toString(8)}`);
  if (asRoot) assert.equal(statSync(dataDir).gid, Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()));
  const stackFile = join(dataDir, 'stack.json');
  const passwordFile = join(dataDir, 'postgres-password');
  assert.equal(mode(stackFile), 0o600);
  assert.equal(mode(passwordFile), 0o600);
  const password = readFileSync(passwordFile, 'utf8').trim();
  assert.match(password, /^[0-9a-f]{48}$/);
  const { databaseUrl } = JSON.parse(readFileSync(stackFile, 'utf8')) as { databaseUrl: string };
  assert.equal(new URL(databaseUrl).password, password);

  const login = async (as: string) => {
    const client = new pg.Client({ host: '127.0.0.1', port: ports.postgres, user: 'postgres', password: as, database: 'postgres' });
    try {
      await client.connect();
      return 'in';
    } catch (err) {
      return (err as { code?: string }).code;
    } finally {
      await client.end().catch(() => {});
    }
  };
  assert.equal(await login('postgres'), '28P01', 'the old fixed password is refused');
  assert.equal(await login(password), 'in');
});

test("the Quick start's commands work as the README writes them (on this stack's port)", () => {
  const readme = readFileSync('README.md', 'utf8');
  const quickStart = readme.slice(readme.indexOf('## Quick start'), readme.indexOf('\n## ', readme.indexOf('## Quick start') + 5));
  // The block of curl lines after `npm start`'s output.
  const block = [...quickStart.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).find((b) => b.includes('TOKEN=$(npm run -s token)'));
  assert.ok(block, 'a block of commands with the token');
  const dir = mkdtempSync(join(tmpdir(), 'wa-quickstart-'));
  // In the repository, as a user runs them; the QR file goes to a scratch directory.
  const commands = block.replaceAll('localhost:3000', `localhost:${ports.api}`).replaceAll('-o qr.png', `-o ${join(dir, 'qr.png')}`);
  const script = `set -e\n${commands.replace(/\s+#.*$/gm, '')}`;
  const run = spawnSync('/bin/sh', ['-c', script], {
    encoding: 'utf8',
    timeout: 60_000,
    env: {
      ...process.env,
      DATA_DIR: dataDir,
      API_TOKEN: 'stack-test-token-0123456789',
    },
  });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(run.status, 0, `${script}\n${run.stdout}\n${run.stderr}`);
  assert.match(run.stdout, /"instances":\[[^\]]*"default"/);
  assert.match(run.stdout, /"success":true/);
});

test('Ctrl-C stops the API and worker first, then Temporal, then Postgres, in a few seconds, and says so', async (t) => {
  // A session for the worker to hand over on the way out.
  await fetch(`http://127.0.0.1:${ports.api}/api/instance/default/connect`, {
    method: 'POST',
    headers: { 'x-api-key': 'stack-test-token-0123456789' },
  });
  await new Promise((r) => setTimeout(r, 1_000));
  const from = output.length;
  const started = Date.now();
  process.kill(-stack.pid!, 'SIGINT');
  const code = await new Promise<number | null>((resolve) => stack.once('exit', (c) => resolve(c)));
  const took = Date.now() - started;
  const stopping = output.slice(from);
  t.diagnostic(`stopped in ${took} ms: ${stopping.match(/\[stack\] stopped \(.*\)/)?.[0]}`);
  assert.equal(code, 0, stopping.slice(-3_000));
  assert.match(stopping, /\[stack\] stopped \(API and worker \d+ ms, Temporal \d+ ms, Postgres \d+ ms\)/);
  assert.doesNotMatch(stopping, /57P01|terminating connection due to administrator command/, 'Postgres outlived the worker');
  assert.ok(took < 15_000, `the stop took ${took} ms`);
  for (const [name, port] of Object.entries(ports))
    if (name !== 'ui') assert.equal(await listening(port), false, `${name} still listening`);
});
