/**
 * Real brokers for tests, each started on free ports with its data in a
 * temporary directory, and stopped by process id (its whole process group):
 * RabbitMQ (Debian's rabbitmq-server, run as the current user, no plugins)
 * and NATS with JetStream (nats-server). `.ci/run` installs both where
 * missing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { freePort } from '../../stack/ports.js';

export interface Broker {
  url: string;
  port: number;
  /** Kills it (its data stays): `start()` brings it back on the same port with the same data. */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
  output(): string;
}

/** The RabbitMQ server script that runs as the calling user (Debian's /usr/sbin one switches to the rabbitmq user). */
function rabbitScript(): string {
  const base = '/usr/lib/rabbitmq/lib';
  const version = existsSync(base) ? readdirSync(base).find((d) => d.startsWith('rabbitmq_server-')) : undefined;
  const script = version && join(base, version, 'sbin', 'rabbitmq-server');
  if (!script || !existsSync(script)) throw new Error('rabbitmq-server is not installed (apt-get install rabbitmq-server; .ci/run does)');
  return script;
}

function natsBinary(): string {
  const found = ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((p) => existsSync(p));
  if (!found) throw new Error('nats-server is not installed (apt-get install nats-server; .ci/run does)');
  return found;
}

/** Runs `command` in its own process group until `ready(output)` says it serves; `served.dir` holds its data. */
async function supervise(
  name: string,
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  ready: (output: string) => boolean,
  served: { url: string; port: number; dir: string },
): Promise<Broker> {
  let child: ChildProcess | undefined;
  let output = '';
  const start = async () => {
    output = '';
    const started = spawn(command, args, { env: { ...process.env, ...env }, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    child = started;
    started.stdout!.on('data', (c) => (output += c));
    started.stderr!.on('data', (c) => (output += c));
    const deadline = Date.now() + 60_000;
    while (!ready(output)) {
      if (started.exitCode !== null) throw new Error(`${name} exited (${started.exitCode}):\n${output.slice(-3_000)}`);
      if (Date.now() > deadline) throw new Error(`${name} did not start within 60 s:\n${output.slice(-3_000)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };
  const kill = async () => {
    const running = child;
    if (!running?.pid || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise((r) => running.once('exit', r));
    try {
      process.kill(-running.pid, 'SIGKILL');
    } catch {
      // gone already
    }
    await exited;
  };
  await start();
  return {
    url: served.url,
    port: served.port,
    start,
    kill,
    output: () => output,
    async stop() {
      await kill();
      rmSync(served.dir, { recursive: true, force: true });
    },
  };
}

export async function startRabbit(): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'rabbit-'));
  const [port, distPort] = [await freePort(), await freePort()];
  writeFileSync(join(dir, 'rabbitmq.conf'), `listeners.tcp.default = 127.0.0.1:${port}\nloopback_users = none\n`);
  writeFileSync(join(dir, 'plugins'), '[].\n');
  writeFileSync(join(dir, 'env.conf'), '');
  const env = {
    RABBITMQ_NODENAME: `t${randomBytes(4).toString('hex')}@localhost`,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_DIST_PORT: String(distPort),
    RABBITMQ_CONFIG_FILE: join(dir, 'rabbitmq.conf'),
    RABBITMQ_CONF_ENV_FILE: join(dir, 'env.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'plugins'),
    RABBITMQ_MNESIA_BASE: join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: join(dir, 'log'),
    RABBITMQ_PID_FILE: join(dir, 'pid'),
    RABBITMQ_LOGS: '-',
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const url = `amqp://guest:guest@127.0.0.1:${port}`;
  return supervise('rabbitmq-server', rabbitScript(), [], env, (out) => out.includes('Server startup complete'), { url, port, dir });
}

export async function startNats(): Promise<Broker> {
  const dir = mkdtempSync(join(tmpdir(), 'nats-'));
  const port = await freePort();
  const args = ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir];
  const url = `nats://127.0.0.1:${port}`;
  return supervise('nats-server', natsBinary(), args, {}, (out) => out.includes('Server is ready'), { url, port, dir });
}
