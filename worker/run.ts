import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { createDb, migrate, type Db } from '../db/knex.js';
import { ensureSearchAttributes } from '../temporal/client.js';
import { taskQueues } from '../workflows/names.js';
import type { WhatsAppDriver } from '../whatsapp/session.js';
import { ensureEventSink, wakeOutbox } from '../temporal/starts.js';
import { sinkCursor } from '../db/eventSinks.js';
import { failLostHolder } from '../temporal/sessions.js';
import type { SessionHost } from '../activities/sessionHost.js';
import type { SessionSpread } from './sessionSpread.js';
import { PgListener } from '../db/pgListener.js';
import { startSweeps } from './sweeps.js';
import type { AddressInfo } from 'node:net';
import { watchPool } from '../db/stats.js';
import { serveMetrics } from './metricsServer.js';
import { storedApiToken } from '../db/appSettings.js';
import { configuredSinks, createGeneralRole, createSessionsRole, type RoleContext } from './roles.js';

export interface WorkerOptions {
  config: Config;
  driver: WhatsAppDriver;
  logger: Logger;
}

/**
 * Runs this process's Temporal workers until SIGINT/SIGTERM. On shutdown the
 * session activities are cancelled: they close their sockets without logging
 * out and fail, so Temporal hands their sessions to another worker at once.
 */
export async function runWorker({ config, driver, logger }: WorkerOptions): Promise<void> {
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    throw new Error('DATABASE_URL and TEMPORAL_ADDRESS must be set for a worker (npm start sets them)');
  }
  const db = createDb(config.DATABASE_URL, { queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS });
  await migrate(db);
  watchPool(db, 'worker');
  const metricsServer = await startMetricsServer(config, db, logger);
  const metricsPort = (metricsServer?.address() as AddressInfo | null)?.port;

  const { connection, client } = await connectTemporal(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE, logger);
  const queues = taskQueues(config.TASK_QUEUE);
  const workerId = config.WORKER_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const ctx: RoleContext = {
    config,
    db,
    logger,
    client,
    // One LISTEN connection per process, for whatever its roles wait on.
    listener: new PgListener(config.DATABASE_URL, logger),
    queues,
    wakeOutbox: (instanceId) => wakeOutbox(client, queues.general, instanceId),
    common: { connection, namespace: config.TEMPORAL_NAMESPACE, shutdownGraceTime: '10 s' },
  };
  const { listener } = ctx;

  const general = config.WORKER_ROLES.includes('general') ? await createGeneralRole(ctx) : undefined;
  await listener.start();
  general?.dispatcher.start();
  // The broker sinks' workflows run as long as general workers have them configured; checked again every minute.
  // A sink new to the database publishes the events recorded from now on: its cursor is set before this worker
  // takes any work (its publishing activity may first run a little later).
  const sinks = general ? configuredSinks(config).map((s) => s.name) : [];
  for (const sink of sinks) await sinkCursor(db, sink);
  const ensureSinks = () =>
    Promise.all(sinks.map((sink) => ensureEventSink(client, queues, sink))).catch((err) =>
      logger.warn({ err: (err as Error).message }, 'starting the event sinks failed; trying again in a minute'),
    );
  const sinkTimer = sinks.length > 0 ? setInterval(() => void ensureSinks(), 60_000) : undefined;
  sinkTimer?.unref();
  void ensureSinks();
  const stopSweeps = general
    ? startSweeps({
        db,
        wakeOutbox: ctx.wakeOutbox,
        logger,
        outboxEveryMs: config.OUTBOX_SWEEP_SECONDS * 1_000,
        heartbeatTimeoutSeconds: config.SESSION_HEARTBEAT_TIMEOUT_SECONDS,
        failLostHolder: (taskToken, reason) => failLostHolder(client, taskToken, reason),
      })
    : undefined;
  const sessions = config.WORKER_ROLES.includes('sessions') ? await createSessionsRole(ctx, driver, workerId) : undefined;
  const workers = [...(general?.workers ?? []), ...(sessions?.workers ?? [])];

  const runs = new Map<Worker, Promise<void>>();
  const shutdown = (signal: string) =>
    handOverAndStop({
      signal,
      logger,
      host: sessions?.host,
      spread: sessions?.spread,
      workflowsWorker: general?.workflowsWorker,
      sessionsWorker: sessions?.sessionsWorker,
      workers,
      runs,
    });
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  logger.info({ workerId, roles: config.WORKER_ROLES, queues, metricsPort }, 'worker started');
  try {
    for (const worker of workers) runs.set(worker, worker.run());
    await Promise.all(runs.values());
  } finally {
    await sessions?.spread.stop();
    clearInterval(sinkTimer);
    await general?.dispatcher.stop();
    await stopSweeps?.();
    await general?.closeSender();
    await listener.stop();
    metricsServer?.close();
    await connection.close();
    await db.destroy();
    logger.info('worker stopped');
  }
}

/** The worker's metrics, for the METRICS_TOKEN (else the admin token: configured, or the one the API stored). */
function startMetricsServer(config: Config, db: Db, logger: Logger): Promise<Server | undefined> {
  return serveMetrics(
    config.WORKER_METRICS_PORT,
    async () => config.METRICS_TOKEN ?? config.API_TOKEN ?? (await storedApiToken(db)),
    (err) =>
      logger.warn(
        { err: err.message, port: config.WORKER_METRICS_PORT },
        'the worker metrics port is not available; no metrics from this worker',
      ),
  );
}

/** Starts Temporal's runtime and connects to the server; the search attributes the workflows use are registered. */
async function connectTemporal(address: string, namespace: string, logger: Logger) {
  // Signals are handled in runWorker: sessions are handed over before the workers stop.
  Runtime.install({ logger: temporalLogger(logger), shutdownSignals: [] });
  const connection = await NativeConnection.connect({ address });
  // The worker's own calls (signals to outbox workflows) share the workers' connection: no second gRPC
  // stack, and no second AsyncLocalStorage, whose promise hook every promise in the process would pay for.
  const client = new Client({ connection, namespace });
  await ensureSearchAttributes(client, logger);
  return { connection, client };
}

interface Leaving {
  signal: string;
  logger: Logger;
  host: SessionHost | undefined;
  spread: SessionSpread | undefined;
  workflowsWorker: Worker | undefined;
  sessionsWorker: Worker | undefined;
  /** Every Temporal worker of the process, and (once they run) their runs. */
  workers: Worker[];
  runs: Map<Worker, Promise<void>>;
}

/** The shutdown on SIGTERM/SIGINT: the sessions are handed over to other workers, then every worker stops. */
async function handOverAndStop({ signal, logger, host, spread, workflowsWorker, sessionsWorker, workers, runs }: Leaving): Promise<void> {
  logger.info({ signal, sessions: host?.size ?? 0 }, 'worker shutting down: handing sessions over');
  // No session is placed here any more.
  await spread?.stop();
  // First the workflows: the task that takes up a session handed over here must run on another worker.
  // This one, leaving, took it and dropped it, and it waited out the task timeout (10 s, later 3 s).
  if (workflowsWorker && host?.size) {
    workflowsWorker.shutdown();
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([runs.get(workflowsWorker)?.catch(() => {}), new Promise((resolve) => (timer = setTimeout(resolve, 3_000)))]);
    clearTimeout(timer);
  }
  // Then stop taking sessions: a session handed over here must go to another worker, not come back to
  // this one while it is leaving (then its hand-over waited for this worker's 10 s grace time).
  if (sessionsWorker?.getState() === 'RUNNING') sessionsWorker.shutdown();
  await host?.evacuate(10_000);
  for (const worker of workers) if (worker.getState() === 'RUNNING') worker.shutdown();
}

/**
 * What the Temporal SDK says about its own machinery at start and stop (each worker's state, queues that
 * poll no workflows or Nexus tasks by design) goes at debug: five workers made forty lines of every stop.
 */
const ROUTINE = /^(No workflows registered|No Nexus services registered|Worker state changed)/;

function temporalLogger(logger: Logger) {
  const child = logger.child({ module: 'temporal' });
  const log = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: Record<string, unknown>) =>
    child[ROUTINE.test(message) && level !== 'error' ? 'debug' : level](meta ?? {}, message);
  return {
    log: (level: string, message: string, meta?: Record<string, unknown>) =>
      log((level.toLowerCase() as 'info') in child ? (level.toLowerCase() as 'info') : 'info')(message, meta),
    trace: log('trace'),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
}
