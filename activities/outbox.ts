import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { hasPendingOutgoing, pickUpPending } from '../db/messages.js';
import { markDraining, markIdle } from '../db/outbox.js';
import type { Arrivals } from '../db/arrivals.js';
import { StatusWriter } from './statusWriter.js';
import type { MediaStore } from '../media/store.js';
import { LookAhead, Slots } from './lookAhead.js';
import type { SessionHost } from './sessionHost.js';
import type { WhatsAppSession } from '../whatsapp/session.js';
import { createContentResolver } from './outboxContent.js';
import { createRecipientLookups } from './outboxRecipients.js';
import { createSender, type SendQueue } from './outboxSend.js';

export { PermanentSendError } from './permanentSendError.js';
export { MAX_SEND_FAILURES } from './outboxSend.js';

export interface OutboxDeps {
  db: Db;
  host: SessionHost;
  media: MediaStore;
  logger: Logger;
  maxMediaBytes: number;
  allowPrivateMediaUrls: boolean;
  /** NOTIFYs of new outgoing messages, per instance. */
  arrivals: Arrivals;
  /** How long a drain waits for new messages before it ends. */
  drainIdleMs: number;
}

const HEARTBEAT_EVERY_MS = 1_000;
/** Messages a drain prepares ahead of their turn (their media fetched and uploaded), and how many media files at once (each is held in memory meanwhile). */
const LOOK_AHEAD = 16;
const MEDIA_AT_ONCE = 4;

export function createOutboxActivities(deps: OutboxDeps) {
  const { db, host } = deps;
  const { prepareRow } = createContentResolver(deps);
  const recipients = createRecipientLookups(deps);
  const { sendReady } = createSender(deps, recipients);

  return {
    /**
     * Drains the instance's outbox on the worker that holds its socket: sends
     * what is pending, in order and in batches, then keeps taking messages as
     * their NOTIFYs arrive until none came for `idleMs` (or `maxMs` passed).
     * While it runs, the API needs no Temporal signal per message (see
     * db/outbox.ts). A crash leaves unsent or unrecorded rows pending: the
     * next drain resends them with the same WhatsApp id, so the recipient
     * still gets one message.
     */
    async drainOutbox({
      instanceId,
      batch = 100,
      idleMs = deps.drainIdleMs,
      maxMs = 10 * 60_000,
      pollMs = 1_000,
    }: DrainInput): Promise<DrainResult> {
      const ctx = Context.current();
      const result: DrainResult = { sent: 0, failed: 0, more: false, notConnected: false };
      const session = await openSession(host, instanceId);
      if (!session) return { ...result, notConnected: true };
      const started = Date.now();
      const heartbeat = throttledHeartbeat(ctx);
      const arrivals = deps.arrivals.watch(instanceId);
      // A message is recorded as sent only once the keys that encrypted it are stored (see SessionKeys).
      const statuses = new StatusWriter(db, instanceId, () => session.persisted());
      // Pending messages in order, their media fetched and uploaded ahead: a slow one holds back only its recipient's later ones.
      const mediaSlots = new Slots(MEDIA_AT_ONCE);
      const queue: SendQueue = new LookAhead((row) => prepareRow(session, mediaSlots, row), LOOK_AHEAD);
      let delayMs = 0;
      let more = false;
      let activeUntil = 0;
      const keepActive = async () => {
        if (Date.now() < activeUntil - idleMs) return;
        await markDraining(db, instanceId, host.workerId, idleMs * 2);
        activeUntil = Date.now() + idleMs * 2;
      };
      try {
        await keepActive();
        let idleSince = Date.now();
        for (;;) {
          // A worker shutting down lets the drain end now; the workflow starts one where the socket moves.
          if (ctx.cancellationSignal.aborted || host.isEvacuating) break;
          if (host.get(instanceId) !== session) {
            result.notConnected = true;
            break;
          }
          // Sending runs ahead of recording by two batches at most: a stalled database holds the drain back.
          await statuses.atMost(2 * batch);
          // Every message committed before the pick-up is in it; any later one NOTIFYs after this.
          arrivals.clear();
          // The look-ahead holds a batch at most; what it holds (and what is sent but not recorded) is not picked up again.
          const room = batch - queue.size;
          let taken = 0;
          if (room > 0) {
            const exclude = [...statuses.unwritten(), ...queue.waiting().map((row) => row.seq)];
            const picked = await pickUpPending(db, instanceId, room, exclude);
            taken = picked.messages.length;
            // A full pick-up may have left more behind; after a partial one, only a NOTIFY means more.
            more = taken >= room;
            if (taken > 0) {
              delayMs = picked.sendDelayMs;
              await recipients.lookUpRecipients(session, instanceId, picked.messages);
              queue.add(picked.messages.map((row) => ({ ...row, key: row.chat_id })));
            }
          }
          const done = await sendReady(session, instanceId, queue, delayMs, statuses, result, heartbeat);
          if (taken > 0 || done > 0) {
            idleSince = Date.now();
            if (Date.now() - started > maxMs) {
              result.more = true;
              break;
            }
            await keepActive();
          }
          if (more && queue.size < batch) continue;
          if (queue.size > 0) {
            // The rest wait behind a preparation under way (media being fetched or uploaded): the drain is not idle.
            heartbeat();
            await Promise.race([arrivals.next(pollMs), queue.settled(), host.evacuating]);
            continue;
          }
          if (Date.now() - idleSince >= idleMs || Date.now() - started > maxMs) {
            // What was sent is recorded before the last look, which would otherwise find it pending.
            await statuses.flush();
            await markIdle(db, instanceId);
            activeUntil = 0;
            // One last look after clearing the flag: a message committed before it is ours to send.
            if (!(await hasPendingOutgoing(db, instanceId))) break;
            await keepActive();
            idleSince = Date.now();
            continue;
          }
          heartbeat();
          // A NOTIFY wakes us at once; the timeout is a fallback should one be lost.
          await Promise.race([arrivals.next(Math.min(pollMs, idleMs - (Date.now() - idleSince))), host.evacuating]);
        }
      } finally {
        arrivals.close();
        try {
          // What went out is recorded even when a later send throws.
          await statuses.flush();
        } finally {
          if (activeUntil) await markIdle(db, instanceId).catch(() => {});
        }
      }
      return result;
    },
  };
}

/** The instance's session on this worker, once it is open (waited for up to 15 s); undefined when it is not. */
async function openSession(host: SessionHost, instanceId: string): Promise<WhatsAppSession | undefined> {
  const session = host.get(instanceId);
  if (!session) return undefined;
  try {
    await session.waitOpen(15_000);
  } catch {
    return undefined;
  }
  return session;
}

/** The activity's heartbeat, sent at most once every HEARTBEAT_EVERY_MS. */
function throttledHeartbeat(ctx: Context): () => void {
  // Each heartbeat crosses into Temporal's native core; a few per heartbeat timeout are plenty.
  let lastBeat = 0;
  return () => {
    if (Date.now() - lastBeat < HEARTBEAT_EVERY_MS) return;
    lastBeat = Date.now();
    ctx.heartbeat();
  };
}

export interface DrainInput {
  instanceId: string;
  /** Messages read per query. */
  batch?: number;
  /** How long the drain waits for new messages before it ends (OUTBOX_IDLE_MS). */
  idleMs?: number;
  /** How long one drain may run before the workflow starts the next. */
  maxMs?: number;
  /** How long it waits for a NOTIFY before it looks anyway (should one be lost). */
  pollMs?: number;
}

export interface DrainResult {
  sent: number;
  failed: number;
  /** Messages are still pending (the drain stopped at maxMs). */
  more: boolean;
  /** The socket is not (or no longer) on this worker. */
  notConnected: boolean;
}

export type OutboxActivities = ReturnType<typeof createOutboxActivities>;
