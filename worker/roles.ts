import { execFile } from 'node:child_process';
import { tmpdir } from 'node:os';
import { randomBytes } from 'node:crypto';
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Client } from '@temporalio/client';
import { Worker, type NativeConnection } from '@temporalio/worker';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Db } from '../db/knex.js';
import { hostQueue, type TaskQueues } from '../workflows/names.js';
import type { WhatsAppDriver } from '../whatsapp/session.js';
import { createGeneralActivities } from '../activities/general.js';
import { createSessionActivities } from '../activities/session.js';
import { createHostActivities } from '../activities/host.js';
import { createOutboxActivities } from '../activities/outbox.js';
import { createMediaStore } from '../media/store.js';
import { campaignChanged, signalFlowReply, signalFlowRun, startChatbotReply, startFlowRun, wakeWebhooks } from '../temporal/starts.js';
import { SessionHost } from '../activities/sessionHost.js';
import { LeaseKeeper } from '../activities/leaseKeeper.js';
import { leaseRenewalMs } from '../domain/session.js';
import { Arrivals } from '../db/arrivals.js';
import type { PgListener } from '../db/pgListener.js';
import { OUTBOX_CHANNEL } from '../db/outbox.js';
import { WEBHOOK_CHANNEL } from '../db/webhooks.js';
import { SETTINGS_CHANNEL } from '../db/settings.js';
import { createWebhookActivities } from '../activities/webhooks.js';
import { createEventSinkActivities, type EventSink } from '../activities/eventSinks.js';
import { connectAmqp, connectNats } from '../activities/sinkPublishers.js';
import { EVENTS_CHANNEL } from '../db/eventLog.js';
import { createScheduledActivities } from '../activities/scheduled.js';
import { createCampaignActivities } from '../activities/campaigns.js';
import { createChatbot, createChatbotActivities } from '../activities/chatbot.js';
import { createFlowActivities } from '../activities/flows.js';
import { createFlowRouter } from '../activities/flowRouter.js';
import { STATUS_CHANNEL } from '../db/messages.js';
import { createWebhookSender, type WebhookSender } from '../activities/webhookSender.js';
import { WebhookDispatcher } from './webhookDispatcher.js';
import { raiseThreadPriority } from './priority.js';
import { startSessionSpread, type SessionSpread } from './sessionSpread.js';
import { compiled, entryPoint, LOADER_FLAGS } from '../lib/entryPoints.js';

/** What the roles of one worker process share: its database, Temporal connection and LISTEN connection. */
export interface RoleContext {
  config: Config;
  db: Db;
  logger: Logger;
  client: Client;
  listener: PgListener;
  queues: TaskQueues;
  /** Wakes an instance's outbox workflow (for every role that hands messages to it). */
  wakeOutbox: (instanceId: string) => Promise<void>;
  /** The options of every Temporal Worker of the process. */
  common: { readonly connection: NativeConnection; readonly namespace: string; readonly shutdownGraceTime: '10 s' };
}

/**
 * The workers of long activities that end their round when cancelled (webhook drains, campaign rounds) cancel them as
 * soon as the process leaves: each stores what it did, says there is more, and its workflow runs the next round on
 * whichever worker polls next. With the grace time of the others, an idle drain (it waits WEBHOOK_IDLE_MS for new
 * events) held every stop for 10 s. Short activities pay no attention to cancellation and finish.
 */
const CANCEL_AT_ONCE = { shutdownGraceTime: 0 } as const;

/** The general role: the workflows, the general activities and the webhook deliveries. */
export interface GeneralRole {
  /** In the order they run: the workflows, the general activities, the webhook deliveries. */
  workers: Worker[];
  workflowsWorker: Worker;
  /** Started once the listener is (see runWorker). */
  dispatcher: WebhookDispatcher;
  closeSender: () => Promise<void>;
}

/** The sessions role: the WhatsApp sessions this worker holds, and their outboxes. */
export interface SessionsRole {
  /** In the order they run: the sessions, then this host's queue. */
  workers: Worker[];
  sessionsWorker: Worker;
  host: SessionHost;
  /** Says this worker is up and hands over what it holds beyond its share (worker/sessionSpread.ts). */
  spread: SessionSpread;
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

/** The activities of the general queue: general, scheduled messages, chatbot replies, conversation flows and campaigns. */
function generalActivities({ config, db, logger, listener, wakeOutbox }: RoleContext) {
  return {
    ...createGeneralActivities({ db }),
    ...createScheduledActivities({ db, wakeOutbox }),
    ...createChatbotActivities({ db, wakeOutbox }),
    ...createFlowActivities({ db, logger, wakeOutbox, allowPrivate: config.FLOW_HTTP_PRIVATE_URLS === 'allow' }),
    ...createCampaignActivities({
      db,
      logger,
      wakeOutbox,
      // "instance\nmessage id\nstatus" (db/messages.ts)
      onStatus: (handler) =>
        listener.on(STATUS_CHANNEL, (payload) => {
          const [instanceId, id, status] = payload.split('\n');
          handler(instanceId!, id!, status!);
        }),
    }),
  };
}

/** The webhook deliveries' activities, woken by new events (`arrivals`) and by settings changes. */
function webhookActivities(ctx: RoleContext, arrivals: Arrivals, sender: WebhookSender, retryWindowMs: number) {
  const { config, db, logger, listener } = ctx;
  return createWebhookActivities({
    db,
    logger,
    arrivals,
    settingsChanges: new Arrivals(listener, SETTINGS_CHANNEL),
    sender,
    retryWindowMs,
    backoffBaseMs: config.WEBHOOK_BACKOFF_BASE_MS,
    concurrency: config.WEBHOOK_CONCURRENCY,
    idleMs: config.WEBHOOK_IDLE_MS,
  });
}

/** The broker sinks this worker's configuration names (EVENTS_AMQP_URL, EVENTS_NATS_URL). */
export function configuredSinks(config: Config): EventSink[] {
  const sinks: EventSink[] = [];
  const amqpUrl = config.EVENTS_AMQP_URL;
  if (amqpUrl) sinks.push({ name: 'amqp', connect: () => connectAmqp(amqpUrl, config.EVENTS_AMQP_EXCHANGE) });
  const natsUrl = config.EVENTS_NATS_URL;
  if (natsUrl) sinks.push({ name: 'nats', connect: () => connectNats(natsUrl, config.EVENTS_NATS_STREAM) });
  return sinks;
}

/** Creates the general role's Temporal workers and its webhook dispatcher (not started: see runWorker). */
export async function createGeneralRole(ctx: RoleContext): Promise<GeneralRole> {
  const { config, db, logger, client, listener, queues, common } = ctx;
  const arrivals = new Arrivals(listener, WEBHOOK_CHANNEL);
  const sender = createWebhookSender({ denyPrivate: config.WEBHOOK_PRIVATE_URLS === 'deny' });
  const retryWindowMs = config.WEBHOOK_RETRY_HOURS * 3_600_000;
  const dispatcher = new WebhookDispatcher({
    db,
    listener,
    arrivals,
    wake: (id) => wakeWebhooks(client, queues, id),
    logger,
    retryWindowMs,
    retentionMs: config.WEBHOOK_RETENTION_DAYS * 86_400_000,
    sweepEveryMs: config.WEBHOOK_SWEEP_SECONDS * 1_000,
  });
  const activities = generalActivities(ctx);
  // The workflows run apart from the general activities, so that a leaving worker stops taking workflow
  // tasks before it hands its sessions over (see handOverAndStop in run.ts). They keep the activities they run locally.
  const workflowsWorker = await Worker.create({
    ...common,
    taskQueue: queues.general,
    workflowBundle: await workflowBundle(config),
    // A workflow task for a worker that is leaving goes to another after 1 s, not 10 (the default).
    stickyQueueScheduleToStartTimeout: '1 s',
    activities,
    enableNonLocalActivities: false,
  });
  const workers = [
    workflowsWorker,
    await Worker.create({
      ...common,
      taskQueue: queues.general,
      activities,
      // Campaigns run long activities (rounds of ten minutes): allow many at once.
      maxConcurrentActivityTaskExecutions: 1_000,
      ...CANCEL_AT_ONCE,
    }),
    // Webhook drains wait on their receivers: one per instance with events, so allow many at once.
    await Worker.create({
      ...common,
      taskQueue: queues.webhooks,
      activities: {
        ...webhookActivities(ctx, arrivals, sender, retryWindowMs),
        ...createEventSinkActivities({
          db,
          logger,
          arrivals: new Arrivals(listener, EVENTS_CHANNEL, () => ''),
          sinks: configuredSinks(config),
        }),
      },
      maxConcurrentActivityTaskExecutions: 1_000,
      ...CANCEL_AT_ONCE,
    }),
  ];
  return { workers, workflowsWorker, dispatcher, closeSender: () => sender.close() };
}

/** Creates the sessions role's Temporal workers: the sessions' queue, and this host's own queue (its outboxes). */
export async function createSessionsRole(ctx: RoleContext, driver: WhatsAppDriver, workerId: string): Promise<SessionsRole> {
  const { config, db, logger, client, listener, queues, wakeOutbox, common } = ctx;
  // This thread runs the sockets; Temporal's threads, started already (runWorker), keep theirs.
  raiseThreadPriority(config.SESSION_WORKER_NICE, logger);
  const host = new SessionHost(workerId, hostQueue(config.TASK_QUEUE, workerId));
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
  const sessionActivities = createSessionActivities({
    db,
    driver,
    host,
    // Every quarter of the lease timeout (each session's Temporal heartbeat, a backstop, far more rarely).
    leases: new LeaseKeeper(db, leaseRenewalMs(config.SESSION_HEARTBEAT_TIMEOUT_SECONDS), logger),
    logger,
    media,
    wakeOutbox,
    campaignChanged: (instanceId, jobId) => campaignChanged(client, instanceId, jobId),
    chatbot: createChatbot({ db, listener, logger, startReply: (input) => startChatbotReply(client, queues.general, input) }),
    flows: createFlowRouter({
      db,
      listener,
      logger,
      startRun: (input) => startFlowRun(client, queues.general, input, { eager: true }),
      signalReply: (instanceId, runId, reply) => signalFlowReply(client, instanceId, runId, reply),
      signalRun: (instanceId, runId, signal) => signalFlowRun(client, instanceId, runId, signal),
    }),
    onSettingsChange: (handler) => listener.on(SETTINGS_CHANNEL, handler),
  });
  // Sessions placed on no worker in particular (workflows from before placement, or no worker said it was up).
  const sessionsWorker = await Worker.create({
    ...common,
    taskQueue: queues.sessions,
    activities: sessionActivities,
    maxConcurrentActivityTaskExecutions: 1_000,
    // Heartbeats reach Temporal at most a quarter of the lease timeout after they are made, not held back to
    // the SDK's 80 % of an activity's heartbeat timeout: an activity beating that often survives a Temporal
    // blip of three quarters of its timeout (test/temporal-blip.test.ts).
    maxHeartbeatThrottleInterval: `${Math.max(1, config.SESSION_HEARTBEAT_TIMEOUT_SECONDS / 4)} s`,
  });
  const workers = [
    sessionsWorker,
    // Outbox drains wait between messages: one per instance with traffic, so allow many at once.
    await Worker.create({
      ...common,
      taskQueue: host.taskQueue,
      // Its sessions (placed here: activities/general.ts placeSession), their outboxes and live calls.
      activities: { ...createHostActivities(host), ...outbox, ...sessionActivities },
      maxConcurrentActivityTaskExecutions: 2_000,
      maxHeartbeatThrottleInterval: `${Math.max(1, config.SESSION_HEARTBEAT_TIMEOUT_SECONDS / 4)} s`,
    }),
  ];
  const spread = startSessionSpread({ db, host, logger, heartbeatTimeoutSeconds: config.SESSION_HEARTBEAT_TIMEOUT_SECONDS });
  return { workers, sessionsWorker, host, spread };
}
