import { execFile } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Client } from '@temporalio/client';
import { NativeConnection, Worker, Runtime } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import { createDb, migrate } from '../db/knex.js';
import { ensureSearchAttributes } from '../temporal/client.js';
import { hostQueue, taskQueues } from '../workflows/names.js';
import type { WhatsAppDriver } from '../whatsapp/session.js';
import { createGeneralActivities } from '../activities/general.js';
import { createSessionActivities } from '../activities/session.js';
import { createHostActivities } from '../activities/host.js';
import { createOutboxActivities } from '../activities/outbox.js';
import { createMediaStore } from '../media/store.js';
import { campaignChanged, startChatbotReply, wakeOutbox, wakeWebhooks } from '../temporal/starts.js';
import { SessionHost } from '../activities/sessionHost.js';
import { Arrivals } from '../db/arrivals.js';
import { PgListener } from '../db/pgListener.js';
import { OUTBOX_CHANNEL } from '../db/outbox.js';
import { WEBHOOK_CHANNEL } from '../db/webhooks.js';
import { SETTINGS_CHANNEL } from '../db/settings.js';
import { createWebhookActivities } from '../activities/webhooks.js';
import { createScheduledActivities } from '../activities/scheduled.js';
import { createCampaignActivities } from '../activities/campaigns.js';
import { createChatbot, createChatbotActivities } from '../activities/chatbot.js';
import { STATUS_CHANNEL } from '../db/messages.js';
import { createWebhookSender } from '../activities/webhookSender.js';
import { WebhookDispatcher } from './webhookDispatcher.js';
import { startSweeps } from './sweeps.js';
import { raiseThreadPriority } from './priority.js';
import type { AddressInfo } from 'node:net';
import { watchPool } from '../db/stats.js';
import { serveMetrics } from './metricsServer.js';
import { storedApiToken } from '../db/appSettings.js';
import { compiled, entryPoint, LOADER_FLAGS } from '../lib/entryPoints.js';

export interface WorkerOptions {
  config: Config;
  driver: WhatsAppDriver;
  logger: Logger;
}

/** `npm run build` writes the workflow bundle beside the compiled tree (dist/workflows.bundle.js). */
const builtBundle = compiled ? fileURLToPath(new URL('../workflows.bundle.js', import.meta.url)) : undefined;

/** The workflow bundle: WORKFLOW_BUNDLE if set, else the build's, else (from the sources) built now in a child process. */
async function workflowBundle(config: Config): Promise<{ code: string }> {
  const file = config.WORKFLOW_BUNDLE ?? builtBundle;
  if (file) return { code: await readFile(file, 'utf8') };
  const out = join(tmpdir(), `wa-gateway-workflows-${process.pid}-${randomBytes(4).toString('hex')}.js`);
  try {
    await promisify(execFile)(process.execPath, [...LOADER_FLAGS, entryPoint('worker/bundleWorkflows'), out], {
      maxBuffer: 16 * 1024 * 1024,
    });
    return { code: await readFile(out, 'utf8') };
  } finally {
    await rm(out, { force: true });
  }
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
  // The worker's metrics, for the METRICS_TOKEN (else the admin token: configured, or the one the API stored).
  const metricsServer = await serveMetrics(
    config.WORKER_METRICS_PORT,
    async () => config.METRICS_TOKEN ?? config.API_TOKEN ?? (await storedApiToken(db)),
    (err) =>
      logger.warn(
        { err: err.message, port: config.WORKER_METRICS_PORT },
        'the worker metrics port is not available; no metrics from this worker',
      ),
  );
  const metricsPort = (metricsServer?.address() as AddressInfo | null)?.port;

  // Signals are handled below: sessions are handed over before the workers stop.
  Runtime.install({ logger: temporalLogger(logger), shutdownSignals: [] });
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  // The worker's own calls (signals to outbox workflows) share the workers' connection: no second gRPC
  // stack, and no second AsyncLocalStorage, whose promise hook every promise in the process would pay for.
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  await ensureSearchAttributes(client, logger);
  const queues = taskQueues(config.TASK_QUEUE);
  /** Wakes an instance's outbox workflow (for every role that hands messages to it). */
  const wakeInstanceOutbox = (instanceId: string) => wakeOutbox(client, queues.general, instanceId);
  const workerId = config.WORKER_ID ?? `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const common = { connection, namespace: config.TEMPORAL_NAMESPACE, shutdownGraceTime: '10 s' } as const;
  const workers: Worker[] = [];
  let host: SessionHost | undefined;
  let sessionsWorker: Worker | undefined;
  let workflowsWorker: Worker | undefined;
  // One LISTEN connection per process, for whatever its roles wait on.
  const listener = new PgListener(config.DATABASE_URL, logger);
  let dispatcher: WebhookDispatcher | undefined;
  let closeSender: (() => Promise<void>) | undefined;
  let stopSweeps: (() => Promise<void>) | undefined;

  if (config.WORKER_ROLES.includes('general')) {
    const arrivals = new Arrivals(listener, WEBHOOK_CHANNEL);
    const sender = createWebhookSender({ denyPrivate: config.WEBHOOK_PRIVATE_URLS === 'deny' });
    closeSender = () => sender.close();
    const retryWindowMs = config.WEBHOOK_RETRY_HOURS * 3_600_000;
    dispatcher = new WebhookDispatcher({
      db,
      listener,
      arrivals,
      wake: (id) => wakeWebhooks(client, queues, id),
      logger,
      retryWindowMs,
      retentionMs: config.WEBHOOK_RETENTION_DAYS * 86_400_000,
      sweepEveryMs: config.WEBHOOK_SWEEP_SECONDS * 1_000,
    });
    const generalActivities = {
      ...createGeneralActivities({ db }),
      ...createScheduledActivities({ db, wakeOutbox: wakeInstanceOutbox }),
      ...createChatbotActivities({ db, wakeOutbox: wakeInstanceOutbox }),
      ...createCampaignActivities({
        db,
        logger,
        wakeOutbox: wakeInstanceOutbox,
        // "instance\nmessage id\nstatus" (db/messages.ts)
        onStatus: (handler) =>
          listener.on(STATUS_CHANNEL, (payload) => {
            const [instanceId, id, status] = payload.split('\n');
            handler(instanceId!, id!, status!);
          }),
      }),
    };
    // The workflows run apart from the general activities, so that a leaving worker stops taking workflow
    // tasks before it hands its sessions over (see shutdown below). They keep the activities they run locally.
    workflowsWorker = await Worker.create({
      ...common,
      taskQueue: queues.general,
      workflowBundle: await workflowBundle(config),
      // A workflow task for a worker that is leaving goes to another after 1 s, not 10 (the default).
      stickyQueueScheduleToStartTimeout: '1 s',
      activities: generalActivities,
      enableNonLocalActivities: false,
    });
    workers.push(
      workflowsWorker,
      await Worker.create({
        ...common,
        taskQueue: queues.general,
        activities: generalActivities,
        // Campaigns run long activities (rounds of ten minutes): allow many at once.
        maxConcurrentActivityTaskExecutions: 1_000,
      }),
      // Webhook drains wait on their receivers: one per instance with events, so allow many at once.
      await Worker.create({
        ...common,
        taskQueue: queues.webhooks,
        activities: createWebhookActivities({
          db,
          logger,
          arrivals,
          settingsChanges: new Arrivals(listener, SETTINGS_CHANNEL),
          sender,
          retryWindowMs,
          backoffBaseMs: config.WEBHOOK_BACKOFF_BASE_MS,
          concurrency: config.WEBHOOK_CONCURRENCY,
          idleMs: config.WEBHOOK_IDLE_MS,
        }),
        maxConcurrentActivityTaskExecutions: 1_000,
      }),
    );
  }
  await listener.start();
  dispatcher?.start();
  if (config.WORKER_ROLES.includes('general')) {
    stopSweeps = startSweeps({
      db,
      wakeOutbox: wakeInstanceOutbox,
      logger,
      outboxEveryMs: config.OUTBOX_SWEEP_SECONDS * 1_000,
      heartbeatTimeoutSeconds: config.SESSION_HEARTBEAT_TIMEOUT_SECONDS,
    });
  }
  if (config.WORKER_ROLES.includes('sessions')) {
    // This thread runs the sockets; Temporal's threads, started above, keep theirs.
    raiseThreadPriority(config.SESSION_WORKER_NICE, logger);
    host = new SessionHost(workerId, hostQueue(config.TASK_QUEUE, workerId));
    const arrivals = new Arrivals(listener, OUTBOX_CHANNEL);
    const media = await createMediaStore(config, db);
    const outbox = createOutboxActivities({
      db,
      host,
      media,
      logger,
      maxMediaBytes: config.MAX_MEDIA_BYTES,
      allowPrivateMediaUrls: config.MEDIA_ALLOW_PRIVATE_URLS,
      arrivals,
      drainIdleMs: config.OUTBOX_IDLE_MS,
    });
    sessionsWorker = await Worker.create({
      ...common,
      taskQueue: queues.sessions,
      activities: createSessionActivities({
        db,
        driver,
        host,
        logger,
        media,
        wakeOutbox: wakeInstanceOutbox,
        campaignChanged: (instanceId, jobId) => campaignChanged(client, instanceId, jobId),
        chatbot: createChatbot({ db, listener, logger, startReply: (input) => startChatbotReply(client, queues.general, input) }),
        onSettingsChange: (handler) => listener.on(SETTINGS_CHANNEL, handler),
      }),
      maxConcurrentActivityTaskExecutions: 1_000,
    });
    workers.push(
      sessionsWorker,
      // Outbox drains wait between messages: one per instance with traffic, so allow many at once.
      await Worker.create({
        ...common,
        taskQueue: host.taskQueue,
        activities: { ...createHostActivities(host), ...outbox },
        maxConcurrentActivityTaskExecutions: 1_000,
      }),
    );
  }

  const runs = new Map<Worker, Promise<void>>();
  const shutdown = async (signal: string) => {
    logger.info({ signal, sessions: host?.size ?? 0 }, 'worker shutting down: handing sessions over');
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
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));

  logger.info({ workerId, roles: config.WORKER_ROLES, queues, metricsPort }, 'worker started');
  try {
    for (const worker of workers) runs.set(worker, worker.run());
    await Promise.all(runs.values());
  } finally {
    await dispatcher?.stop();
    await stopSweeps?.();
    await closeSender?.();
    await listener.stop();
    metricsServer?.close();
    await connection.close();
    await db.destroy();
    logger.info('worker stopped');
  }
}

function temporalLogger(logger: Logger) {
  const child = logger.child({ module: 'temporal' });
  const log = (level: 'trace' | 'debug' | 'info' | 'warn' | 'error') => (message: string, meta?: Record<string, unknown>) =>
    // Session and host queues poll no workflows by design; that is not worth a warning.
    child[message.startsWith('No workflows registered') ? 'debug' : level](meta ?? {}, message);
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
