import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, createWriteStream } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { SEARCH_ATTRIBUTES } from '../workflows/names.js';
import { freePort } from './ports.js';

export const TEMPORAL_CLI_VERSION = 'v1.5.1';

/** Where the Temporal CLI is built once and reused (outside any checkout). */
export function temporalCliCacheDir(): string {
  const base = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(base, 'wa-gateway', `temporal-cli-${TEMPORAL_CLI_VERSION.slice(1)}`);
}

/**
 * Finds the Temporal CLI: `explicit` (TEMPORAL_CLI), the cache, or `temporal`
 * on PATH; otherwise builds it from the Go module proxy into the cache
 * (a one-time build of a few minutes, with progress shown).
 */
export function ensureTemporalCli(explicit: string | undefined, log: (line: string) => void): string {
  if (explicit) {
    if (!existsSync(explicit)) throw new Error(`TEMPORAL_CLI points to ${explicit}, which does not exist`);
    return explicit;
  }
  const cached = join(temporalCliCacheDir(), 'temporal');
  if (existsSync(cached)) return cached;
  const onPath = spawnSync('sh', ['-c', 'command -v temporal'], { encoding: 'utf8' }).stdout.trim();
  if (onPath) return onPath;

  if (spawnSync('go', ['version']).status !== 0) {
    throw new Error(
      'the Temporal CLI is missing and Go is not installed to build it: install Go, set TEMPORAL_CLI, or set TEMPORAL_ADDRESS to a running Temporal',
    );
  }
  mkdirSync(temporalCliCacheDir(), { recursive: true });
  log(`Building the Temporal CLI ${TEMPORAL_CLI_VERSION} with Go into ${temporalCliCacheDir()} (one time, a few minutes)...`);
  const started = Date.now();
  const build = spawnSync('go', ['install', '-v', `github.com/temporalio/cli/cmd/temporal@${TEMPORAL_CLI_VERSION}`], {
    env: { ...process.env, GOBIN: temporalCliCacheDir(), GOFLAGS: '-mod=mod' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  if (build.status !== 0 || !existsSync(cached)) throw new Error(`building the Temporal CLI failed (exit ${build.status})`);
  log(`Temporal CLI built in ${Math.round((Date.now() - started) / 1000)} s.`);
  return cached;
}

export interface RunningTemporal {
  address: string;
  uiUrl: string | null;
  process: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `temporal server start-dev` and waits until it answers. */
export async function startTemporalDevServer(options: {
  cli: string;
  dbFile?: string;
  port?: number;
  uiPort?: number | null;
  logFile?: string;
}): Promise<RunningTemporal> {
  const port = options.port ?? (await freePort());
  const args = ['server', 'start-dev', '--ip', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (options.dbFile) {
    mkdirSync(resolve(options.dbFile, '..'), { recursive: true });
    args.push('--db-filename', options.dbFile);
  }
  if (options.uiPort === null) args.push('--headless');
  else args.push('--ui-port', String(options.uiPort ?? (await freePort())));
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${searchAttributeTypeName(key.type)}`);

  // Its own process group: a terminal's Ctrl-C reaches the supervisor, which stops it last.
  const child = spawn(options.cli, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  if (options.logFile) {
    const out = createWriteStream(options.logFile, { flags: 'a' });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
  } else {
    child.stdout!.resume();
    child.stderr!.resume();
  }
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) =>
      reject(new Error(`temporal dev server exited early (code ${code}); see ${options.logFile ?? 'its output'}`)),
    ),
  );
  const address = `127.0.0.1:${port}`;
  await Promise.race([waitForTemporal(address, 60_000), exited]);
  const uiPort = options.uiPort === null ? null : args[args.indexOf('--ui-port') + 1];
  return {
    address,
    uiUrl: uiPort ? `http://localhost:${uiPort}` : null,
    process: child,
    stop: () => stopProcess(child),
  };
}

function searchAttributeTypeName(type: string): string {
  return (
    { KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', DOUBLE: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' }[
      type
    ] ?? 'Keyword'
  );
}

export async function waitForTemporal(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const connection = await Connection.connect({ address, connectTimeout: 1_000 });
      try {
        await connection.withDeadline(Date.now() + 2_000, () => connection.workflowService.getSystemInfo({}));
        return;
      } finally {
        await connection.close();
      }
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`Temporal at ${address} did not answer within ${timeoutMs} ms: ${(err as Error).message}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** SIGTERM by process id, then SIGKILL if it does not exit in time. */
export function stopProcess(child: ChildProcess, graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolveStop) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolveStop();
    });
    child.kill('SIGTERM');
  });
}
