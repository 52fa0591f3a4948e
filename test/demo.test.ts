// `npm run demo` as a newcomer runs it: it starts, pairs the default instance with a simulated phone,
// the curl lines it prints work as printed (a message goes out, the contact's reply comes in), `npm run
// token` beside it prints the token, and Ctrl-C stops every process it started in a few seconds, a webhook
// delivery under way included. Started again on the same data, it reconnects the same linked device without
// pairing again, and the README's block of what to try after `npm run demo` works as written.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../stack/ports.js';
import { startReceiver, type Receiver } from './support/receiver.js';

const dataDir = join(mkdtempSync(join(tmpdir(), 'wa-demo-')), 'data');
let demo: ChildProcess;
let output = '';
let receiver: Receiver;
const ports = { api: 0, sim: 0, postgres: 0, temporal: 0, ui: 0 };
const env = () => ({
  ...process.env,
  DATA_DIR: dataDir,
  PORT: String(ports.api),
  SIM_PORT: String(ports.sim),
  EMBEDDED_PG_PORT: String(ports.postgres),
  TEMPORAL_DEV_PORT: String(ports.temporal),
  TEMPORAL_UI_PORT: String(ports.ui),
  API_TOKEN: '',
  DATABASE_URL: '',
  TEMPORAL_ADDRESS: '',
  LOG_LEVEL: 'warn',
});

/** Runs `npm run demo` until it has printed what to try; `output` holds what this start printed. */
async function startDemo(): Promise<void> {
  output = '';
  // As `npm run demo` runs it, in a process group of its own as in a terminal (Ctrl-C reaches the group).
  demo = spawn(process.execPath, ['scripts/start.mjs', 'stack/demo.ts'], {
    env: env(),
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  demo.stdout!.on('data', (chunk) => (output += chunk));
  demo.stderr!.on('data', (chunk) => (output += chunk));
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => output.includes('Ctrl-C stops the demo') && (clearInterval(timer), resolve()), 100);
    demo.once('exit', (code) => (clearInterval(timer), reject(new Error(`npm run demo exited (${code}):\n${output.slice(-4_000)}`))));
  });
}

/** Ctrl-C as a terminal sends it; resolves with the exit code and how long the stop took. */
async function stopDemo(): Promise<{ code: number | null; tookMs: number }> {
  const started = Date.now();
  process.kill(-demo.pid!, 'SIGINT');
  const code = await new Promise<number | null>((resolve) => demo.once('exit', (c) => resolve(c)));
  return { code, tookMs: Date.now() - started };
}

before(async () => {
  for (const name of Object.keys(ports) as Array<keyof typeof ports>) ports[name] = await freePort();
  receiver = await startReceiver();
  await startDemo();
});
after(async () => {
  if (demo.exitCode === null && demo.signalCode === null) {
    // Stopped as Ctrl-C does when it can (its Temporal dev server runs in a process group of its own), else killed.
    const exited = new Promise((resolve) => demo.once('exit', resolve));
    process.kill(-demo.pid!, 'SIGINT');
    await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
    if (demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid!, 'SIGKILL');
  }
  await receiver.stop();
  rmSync(join(dataDir, '..'), { recursive: true, force: true });
});

const printed = (pattern: RegExp) => {
  const line = output.split('\n').find((l) => pattern.test(l));
  assert.ok(line, `a printed line matching ${pattern}:\n${output}`);
  return line.trim().replace(/\s+#.*$/, '');
};
const run = (command: string) =>
  execSync(command, { encoding: 'utf8', shell: '/bin/sh', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
const eventually = async <T>(check: () => T | undefined, what: string, ms = 20_000): Promise<T> => {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
};
type Message = { fromMe: boolean; body: string; status: string; id: string };
const history = () => (JSON.parse(run(printed(/curl .*\/messages\?limit=5/))) as { messages: Message[] }).messages;
const listening = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
/** The linked devices of the shop's phone, as the simulator's control API lists them. */
const shopDevices = async () => {
  const users = (await (await fetch(`http://127.0.0.1:${ports.sim}/control/users`)).json()) as Array<{
    phone: string;
    devices: Array<{ deviceId: number }>;
  }>;
  return users.find((u) => u.phone === '905550000001')!.devices.map((d) => d.deviceId);
};
let pairedDevice = '';

test("the printed curl lines send a message and show the contact's reply; a contact writing first comes in too", async () => {
  pairedDevice =
    output.match(
      /\[demo\] paired: the default instance is linked to the simulated phone \+905550000001 \(Demo Shop\) as device (\d+)/,
    )?.[1] ?? '';
  assert.ok(pairedDevice, output);
  // What to try comes last, after the start-up's lines.
  assert.match(output.slice(output.indexOf('[demo] paired')), /^\[demo\] paired[^\n]*\n\nTry it/);
  const sent = JSON.parse(run(printed(/curl -X POST .*\/messages\/chat/))) as { sent: boolean; id: string };
  assert.equal(sent.sent, true, JSON.stringify(sent));
  const reply = await eventually(() => history().find((m) => !m.fromMe), "Ayşe's reply");
  assert.equal(reply.status, 'received');
  // She answers in words of her own: a reply quoting the shop's text would set off a chatbot rule holding its trigger.
  assert.ok(reply.body.length > 0 && !reply.body.includes('Merhaba Ayşe'), reply.body);
  assert.match(run(printed(/curl .*\/contacts$/)), /"name":"Ayşe"/);
  run(printed(/curl -X POST .*\/control\/messages/));
  await eventually(() => history().some((m) => m.body === 'Fiyat nedir?') || undefined, "Mehmet's message");
});

test('`npm run token` beside it, as the demo says to call it, prints the token the curl lines use', () => {
  const token = printed(/Authorization: Bearer/).match(/Bearer ([^"]+)"/)![1];
  const line = printed(/npm run -s token/);
  const result = spawnSync('/bin/sh', ['-c', line], { encoding: 'utf8', env: env(), timeout: 60_000 });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stdout.trim(), token);
});

test('Ctrl-C stops every process the demo started in a few seconds, with a webhook delivery waiting for events', async (t) => {
  // A webhook, and an event delivered: its delivery then waits for the next events (WEBHOOK_IDLE_MS), which held
  // every stop for the 10 s of the worker's grace time.
  const token = printed(/Authorization: Bearer/).match(/Bearer ([^"]+)"/)![1];
  const settings = await fetch(`http://127.0.0.1:${ports.api}/api/instance/default/settings`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ webhookUrl: receiver.url, webhookEnabled: true }),
  });
  assert.equal(settings.status, 200, await settings.text());
  run(printed(/curl -X POST .*\/control\/messages/));
  await eventually(() => receiver.byEvent('message_received').length > 0 || undefined, 'the webhook of a message');

  const { code, tookMs } = await stopDemo();
  t.diagnostic(`stopped in ${tookMs} ms: ${output.match(/\[stack\] stopped \(.*\)/)?.[0]}`);
  assert.equal(code, 0, output.slice(-2_000));
  assert.match(output, /\[stack\] stopped \(API and worker/);
  assert.ok(tookMs < 8_000, `the stop took ${tookMs} ms`);
  for (const [name, port] of Object.entries(ports)) assert.equal(await listening(port), false, `${name} (port ${port}) still answers`);
  // Nothing of its process group is left.
  assert.throws(() => process.kill(-demo.pid!, 0), /ESRCH/);
});

test('started again, the demo reconnects the same linked device without pairing again, and it works both ways', async () => {
  await startDemo();
  assert.match(
    output,
    new RegExp(
      `\\[demo\\] reconnected: the default instance is still linked to the simulated phone \\+905550000001 \\(Demo Shop\\) as device ${pairedDevice};`,
    ),
  );
  assert.doesNotMatch(output, /\[demo\] paired/);
  // The phone lists the one device it linked at the first start.
  assert.deepEqual(await shopDevices(), [Number(pairedDevice)]);
  // The phones kept their Signal sessions: what the gateway sends is read, and what they send is read by it.
  const before = new Set(history().map((m) => m.id));
  const sent = JSON.parse(run(printed(/curl -X POST .*\/messages\/chat/))) as { sent: boolean };
  assert.equal(sent.sent, true);
  await eventually(() => history().find((m) => !m.fromMe && !before.has(m.id)), "Ayşe's reply after the restart");
  // The webhook's delivery goes on after the stop.
  const delivered = receiver.byEvent('message_received').length;
  run(printed(/curl -X POST .*\/control\/messages/));
  await eventually(
    () => receiver.byEvent('message_received').length > delivered || undefined,
    'the webhook of a message after the restart',
  );
});

test("the README's block of what to try after `npm run demo` works as written (on this demo's ports)", async () => {
  const readme = readFileSync('README.md', 'utf8');
  const block = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)]
    .map((m) => m[1]!)
    .find((b) => b.includes('DATA_DIR=./data-demo npm run -s token'));
  assert.ok(block, "a block with the demo's token");
  const commands = block
    .replaceAll('localhost:3000', `localhost:${ports.api}`)
    .replaceAll('127.0.0.1:7780', `127.0.0.1:${ports.sim}`)
    .replaceAll('DATA_DIR=./data-demo', `DATA_DIR=${dataDir}`);
  const script = `set -e\n${commands.replace(/\s+#.*$/gm, '')}`;
  const fromMehmet = () => history().filter((m) => m.body === 'Fiyat nedir?' && !m.fromMe);
  const before = new Set(fromMehmet().map((m) => m.id));
  const result = spawnSync('/bin/sh', ['-c', script], { encoding: 'utf8', timeout: 60_000, env: env() });
  assert.equal(result.status, 0, `${script}\n${result.stdout}\n${result.stderr}`);
  assert.match(result.stdout, /"sent":true/);
  assert.match(result.stdout, /"messages":\[/);
  await eventually(() => fromMehmet().find((m) => !before.has(m.id)), "the README's message from Mehmet");
  const { code } = await stopDemo();
  assert.equal(code, 0, output.slice(-2_000));
});
