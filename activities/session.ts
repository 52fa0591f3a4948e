import { setTimeout as sleep } from 'node:timers/promises';
import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { createAuthStore } from '../db/authStore.js';
import { claimLease, releaseLease } from '../db/leases.js';
import type { LeaseKeeper } from './leaseKeeper.js';
import { recordConnection, type ConnectionChange } from '../db/instances.js';
import { resendUnacked } from '../db/messages.js';
import type { SessionClose, SessionEventHandlers, WhatsAppDriver, WhatsAppSession } from '../whatsapp/session.js';
import type { SessionHost } from './sessionHost.js';
import type { MediaStore } from '../media/store.js';
import { createInboundRecorder } from './inbound.js';
import { createCallHandler } from './calls.js';
import { HANDED_OVER } from '../domain/session.js';
import type { Chatbot } from './chatbot.js';
import type { FlowRouter } from './flowRouter.js';
import { createRestrictionWatch } from './restrictions.js';
import { getSettings, maskProxyUrl } from '../db/settings.js';

/** How a held session ended when it did not end by cancellation. */
export type SessionEnd = 'loggedOut' | 'qrTimeout' | 'replaced';

export interface SessionActivityDeps {
  db: Db;
  driver: WhatsAppDriver;
  host: SessionHost;
  /** This worker's session leases, renewed together (with each session's heartbeat). */
  leases: LeaseKeeper;
  logger: Logger;
  media: MediaStore;
  /** Wakes the instance's outbox: called when the session opens. */
  wakeOutbox: (instanceId: string) => Promise<void>;
  chatbot?: Chatbot;
  /** Hands contacts' messages to their chats' flow runs, or starts runs on keywords (before the chatbot sees them). */
  flows?: FlowRouter;
  /** Tells a campaign's workflow its job changed (resumed when a restriction is lifted). */
  campaignChanged?: (instanceId: string, jobId: number) => Promise<void>;
  /** Subscribes to settings changes (SETTINGS_CHANNEL NOTIFYs, by instance id); returns the unsubscribe function. */
  onSettingsChange?: (handler: (instanceId: string) => void) => () => void;
}

const MAX_RECONNECT_DELAY_MS = 60_000;

// Benign: a hand-over is planned (the SDK logs its failed attempt at debug, not as a warning with its task token).
const handedOver = (message: string) => ApplicationFailure.create({ type: HANDED_OVER, message, category: 'BENIGN' });

export function createSessionActivities(deps: SessionActivityDeps) {
  return {
    /**
     * Holds an instance's WhatsApp socket until it is logged out, its QR
     * expires, or the activity is cancelled (restart, stop, worker shutdown).
     * Reconnects with backoff when the connection drops.
     */
    holdSession({ instanceId }: { instanceId: string }): Promise<SessionEnd> {
      return deps.host.hold(() => holdSession(deps, instanceId));
    },
  };
}

async function holdSession(deps: SessionActivityDeps, instanceId: string): Promise<SessionEnd> {
  const { db, driver, host, logger, media, wakeOutbox, chatbot, flows, campaignChanged } = deps;
  const ctx = Context.current();
  const log = logger.child({ instanceId, attempt: ctx.info.attempt });
  // Placed here as this worker leaves: straight on to another.
  if (host.isEvacuating) throw handedOver(`worker ${host.workerId} is shutting down; session ${instanceId} handed over`);
  const epoch = await claimLease(db, instanceId, host.workerId, host.taskQueue, ctx.info.taskToken);
  const status = connectionRecorder(db, instanceId, log);
  const lease = keepLease(deps, ctx, instanceId, epoch);
  const cancelled = ctx.cancelled.then(
    () => 'cancelled' as const,
    (err: unknown) => ({ cancelled: err }),
  );
  const proxy = watchProxy(deps, instanceId, log);
  // This worker holds more than its share: the session moves to another (worker/sessionSpread.ts).
  const { moved, forget: stopMoves } = host.moved(instanceId);

  let reconnectDelayMs = 0;
  let current: WhatsAppSession | undefined;
  // Messages an ended connection never got acknowledged: pending again once the next one opens (when the old
  // drain's writes are long done), so they go out once more with the same ids.
  let unacked: string[] = [];
  const requeue = async () => {
    const ids = unacked.splice(0);
    const requeued = await resendUnacked(db, instanceId, ids);
    if (requeued) log.info({ requeued }, 'messages the last connection never got acknowledged are sent again');
  };
  const inbound = createInboundRecorder({ db, media, logger: log, chatbot, flows }, instanceId, () => current);
  const restrictions = createRestrictionWatch({ db, logger: log, campaignChanged }, instanceId);
  const calls = createCallHandler({ db, logger: log, wakeOutbox }, instanceId, () => current);

  /** This worker lets the session go: taken over by another (the lease is theirs), shutting down, or cancelled. */
  const letGo = async (why: 'takenOver' | 'evacuating' | 'moved' | 'released' | 'cancelled' | { cancelled: unknown }): Promise<never> => {
    if (why === 'takenOver') throw handedOver(`session ${instanceId} was taken over by another worker`);
    await releaseLease(db, instanceId, epoch);
    if (why === 'moved') throw handedOver(`worker ${host.workerId} holds more than its share; session ${instanceId} handed over`);
    // Its workflow asked (a restart or a stop): the workflow goes on from there.
    if (why === 'released') throw handedOver(`session ${instanceId} was released on its workflow's request`);
    // Handed over: the session workflow runs the activity again at once, on another worker.
    if (why === 'evacuating') throw handedOver(`worker ${host.workerId} is shutting down; session ${instanceId} handed over`);
    throw typeof why === 'object' ? why.cancelled : new Error('cancelled');
  };

  try {
    for (;;) {
      await status.record({ status: 'connecting' });
      const proxyUrl = await proxy.read();
      if (proxyUrl) log.info({ proxy: maskProxyUrl(proxyUrl) }, 'connecting through a proxy');
      const session = await driver.connect({
        instanceId,
        auth: lease.auth,
        proxyUrl,
        logger: log,
        handlers: sessionHandlers(
          { instanceId, log, status, inbound, restrictions, calls, wakeOutbox, requeue },
          () => (reconnectDelayMs = 0),
        ),
      });
      current = session;
      host.attach(instanceId, session);
      const outcome:
        SessionClose | 'takenOver' | 'evacuating' | 'moved' | 'released' | 'proxyChanged' | { cancelled: unknown } | 'cancelled' =
        await Promise.race([session.closed, lease.takenOver, cancelled, proxy.changed, moved]);
      host.detach(instanceId, session);

      if (outcome === 'proxyChanged') {
        log.info('the proxy setting changed; reconnecting');
        await session.close();
        reconnectDelayMs = 0;
        continue;
      }

      if (
        outcome === 'takenOver' ||
        outcome === 'evacuating' ||
        outcome === 'moved' ||
        outcome === 'released' ||
        outcome === 'cancelled' ||
        'cancelled' in outcome
      ) {
        // Hand the session over: close the socket, keep the credentials (and what it never got acknowledged goes again).
        await session.close();
        unacked.push(...((await session.closed).unacked ?? []));
        await requeue().catch((err) => log.warn({ err }, 'sending unacknowledged messages again failed'));
        await status.settled();
        await inbound.settled();
        await calls.settled();
        return await letGo(outcome);
      }

      log.info({ reason: outcome.reason, message: outcome.message, unacked: outcome.unacked?.length }, 'connection closed');
      unacked.push(...(outcome.unacked ?? []));
      switch (outcome.reason) {
        case 'loggedOut':
          await lease.auth.clear();
          await status.record({ status: 'disconnected', qr: null, account: null });
          await releaseLease(db, instanceId, epoch);
          return 'loggedOut';
        case 'qrTimeout':
        case 'replaced':
          await status.record({ status: 'disconnected', qr: null });
          await releaseLease(db, instanceId, epoch);
          return outcome.reason;
        case 'restartRequired':
          continue;
        default: {
          // Shown by GET .../status until the session opens: a refusing proxy, an unreachable server...
          void status.record({ status: 'connecting', lastError: outcome.message ?? outcome.reason });
          reconnectDelayMs = Math.min(MAX_RECONNECT_DELAY_MS, Math.max(1_000, reconnectDelayMs * 2));
          log.info({ delayMs: reconnectDelayMs }, 'reconnecting');
          // A changed proxy (a fixed password, say) is tried at once.
          const woke = await Promise.race([
            sleep(reconnectDelayMs).then(() => 'slept' as const),
            lease.takenOver,
            cancelled,
            proxy.changed,
            moved,
          ]);
          if (woke === 'proxyChanged') reconnectDelayMs = 0;
          else if (woke !== 'slept') await letGo(woke);
        }
      }
    }
  } finally {
    stopMoves();
    lease.stop();
    restrictions.close();
    proxy.stop();
  }
}

/** Records a session's connection changes in order: a QR must never land after "open". */
function connectionRecorder(db: Db, instanceId: string, log: Logger) {
  let writes = Promise.resolve();
  return {
    record(change: ConnectionChange): Promise<void> {
      writes = writes
        .then(() => recordConnection(db, instanceId, change))
        .catch((err) => log.error({ err }, 'recording connection state failed'));
      return writes;
    },
    /** The writes recorded so far, done. */
    settled: () => writes,
  };
}

/**
 * Keeps the session's lease while it is held: renewing it says the holder is alive (and now and then a
 * heartbeat tells Temporal the same); the lease fences us out if another worker took over. `takenOver`
 * settles when this worker must let go, either way: another holds the lease, or this worker is shutting down.
 */
function keepLease({ db, host, leases }: SessionActivityDeps, ctx: Context, instanceId: string, epoch: number) {
  let onTakenOver!: () => void;
  const takenOver = Promise.race([new Promise<'takenOver'>((resolve) => (onTakenOver = () => resolve('takenOver'))), host.evacuating]);
  // Writes of credentials and keys are fenced by the lease: a refused one means another worker took over.
  const auth = createAuthStore(db, instanceId, { epoch, onLost: () => onTakenOver() });
  // A quarter of the activity's heartbeat timeout, in minutes with lease liveness (workflows/session.ts), as
  // Temporal would throttle them.
  const beatEveryMs = (ctx.info.heartbeatTimeoutMs ?? 20_000) / 4;
  const stop = leases.keep(instanceId, epoch, { beat: () => ctx.heartbeat(), beatEveryMs, lost: onTakenOver });
  return { auth, takenOver, stop };
}

/**
 * The proxy the session connects through; a settings change that alters it settles `changed`, and the
 * session reconnects through the new one. `read` takes the current setting and arms the watch again.
 */
function watchProxy({ db, onSettingsChange }: SessionActivityDeps, instanceId: string, log: Logger) {
  let proxyUrl: string | null = null;
  let onProxyChanged: () => void = () => {};
  let changed!: Promise<'proxyChanged'>;
  const arm = () => (changed = new Promise((resolve) => (onProxyChanged = () => resolve('proxyChanged'))));
  arm();
  const stop = onSettingsChange?.((instance) => {
    if (instance !== instanceId) return;
    getSettings(db, instanceId).then(
      (settings) => settings.proxyUrl !== proxyUrl && onProxyChanged(),
      (err) => log.warn({ err }, 'reading the settings after a change failed'),
    );
  });
  return {
    get changed() {
      return changed;
    },
    async read(): Promise<string | null> {
      arm();
      proxyUrl = (await getSettings(db, instanceId)).proxyUrl;
      return proxyUrl;
    },
    stop: () => stop?.(),
  };
}

/** What the driver reports on a connection, to the session's recorders; `onOpen` when it opens. */
function sessionHandlers(
  parts: {
    instanceId: string;
    log: Logger;
    status: ReturnType<typeof connectionRecorder>;
    inbound: ReturnType<typeof createInboundRecorder>;
    restrictions: ReturnType<typeof createRestrictionWatch>;
    calls: ReturnType<typeof createCallHandler>;
    wakeOutbox: SessionActivityDeps['wakeOutbox'];
    /** Makes what the last connection never got acknowledged pending again. */
    requeue: () => Promise<void>;
  },
  onOpen: () => void,
): SessionEventHandlers {
  const { instanceId, log, status, inbound, restrictions, calls, wakeOutbox, requeue } = parts;
  return {
    qr: (qr) => void status.record({ status: 'connecting', qr }),
    open: (account) => {
      onOpen();
      log.info({ account: account.id }, 'session open');
      void status.record({ status: 'open', qr: null, account, lastError: null });
      // Messages may have queued while the instance was not connected, or gone unacknowledged on the last connection.
      requeue()
        .catch((err) => log.warn({ err }, 'sending unacknowledged messages again failed'))
        .then(() => wakeOutbox(instanceId))
        .catch((err) => log.warn({ err }, 'waking the outbox failed'));
      inbound.refreshGroups();
      restrictions.check();
    },
    messages: inbound.messages,
    messageChanges: inbound.messageChanges,
    pollVotes: inbound.pollVotes,
    labels: inbound.labels,
    statuses: inbound.statuses,
    chats: inbound.chats,
    contacts: inbound.contacts,
    groups: inbound.groups,
    groupsChanged: inbound.groupsChanged,
    restriction: restrictions.record,
    calls: calls.handle,
    groupParticipants: inbound.groupParticipants,
    groupUpdate: inbound.groupUpdate,
  };
}

export type SessionActivities = ReturnType<typeof createSessionActivities>;
