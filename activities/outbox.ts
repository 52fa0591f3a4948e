import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { announceSent, getMessage, hasPendingOutgoing, pickUpPending, recordSendFailure, type PendingMessage } from '../db/messages.js';
import { markDraining, markIdle } from '../db/outbox.js';
import { forgetUnknownChat } from '../db/directory.js';
import type { Arrivals } from '../db/arrivals.js';
import { StatusWriter } from './statusWriter.js';
import { mediaKindProblem, unhandled, type MediaRef } from '../domain/content.js';
import type { MediaStore } from '../media/store.js';
import { detectMimetype } from '../media/store.js';
import { FetchRefused, safeFetch } from '../media/safeFetch.js';
import { isGroupJid } from '../domain/recipients.js';
import { TtlCache } from '../lib/ttlCache.js';
import { LookAhead, Slots } from './lookAhead.js';
import { messagesSent, sendLatency } from '../lib/metrics.js';
import { MAX_TYPING_MS } from '../domain/typing.js';
import type { Media, OutgoingContent, OutgoingMessage, PreparedMessage, WhatsAppSession } from '../whatsapp/session.js';
import type { SessionHost } from './sessionHost.js';

/** A send that can never succeed: the message is marked failed with this reason. */
export class PermanentSendError extends Error {}

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

const EXISTS_TTL_MS = 10 * 60_000;
const HEARTBEAT_EVERY_MS = 1_000;
const MEDIA_FETCH_ATTEMPTS = 3;
const MEDIA_RETRY_DELAY_MS = 2_000;
/** Messages a drain prepares ahead of their turn (their media fetched and uploaded), and how many media files at once (each is held in memory meanwhile). */
const LOOK_AHEAD = 16;
const MEDIA_AT_ONCE = 4;
/**
 * Failed sends of one message, with the connection up throughout, after which
 * it is marked failed. The outbox workflow retries a failed drain with growing
 * pauses (workflows/outbox.ts), so this many take about two minutes.
 */
export const MAX_SEND_FAILURES = 8;

export function createOutboxActivities(deps: OutboxDeps) {
  const { db, host, logger } = deps;
  // Whether a number is on WhatsApp, per instance and JID, for a few minutes.
  const existsCache = new TtlCache<boolean>(EXISTS_TTL_MS);
  // When each instance last sent, so sendDelay also spaces sends of separate batches.
  const lastSentAt = new Map<string, number>();

  async function resolveMedia(instanceId: string, type: string, ref: MediaRef): Promise<Media> {
    const media = await loadMedia(instanceId, ref);
    // A URL's bytes are first seen here; a stored file was checked when the send was accepted.
    const problem = mediaKindProblem(type, media.mimetype);
    if (problem) throw new PermanentSendError(`media ${'url' in ref ? ref.url : ref.stored}: ${problem}`);
    return media;
  }

  async function loadMedia(instanceId: string, ref: MediaRef): Promise<Media> {
    if ('stored' in ref) {
      const file = await deps.media.read(instanceId, ref.stored);
      if (!file) throw new PermanentSendError(`media file ${ref.stored} no longer exists`);
      return file;
    }
    // A media host that is down or slow gets a few more tries, then the message fails:
    // the instance's later messages must not wait behind it for long.
    for (let attempt = 1; ; attempt++) {
      try {
        const fetched = await safeFetch(ref.url, { maxBytes: deps.maxMediaBytes, allowPrivate: deps.allowPrivateMediaUrls });
        return { bytes: fetched.bytes, mimetype: await detectMimetype(fetched.bytes, fetched.contentType?.split(';')[0]) };
      } catch (err) {
        if (!(err instanceof FetchRefused)) throw err;
        if (!err.transient || attempt >= MEDIA_FETCH_ATTEMPTS) throw new PermanentSendError(`media ${ref.url}: ${err.message}`);
        await sleep(MEDIA_RETRY_DELAY_MS * attempt);
      }
    }
  }

  /** The content as the session sends it: media in bytes, and whether a reaction's or a delete's target is ours. */
  async function resolveContent(row: PendingMessage): Promise<OutgoingContent> {
    const content = row.content;
    switch (content.type) {
      case 'image':
      case 'video':
      case 'sticker':
      case 'document':
      case 'audio':
      case 'voice':
        return { ...content, media: await resolveMedia(row.instance_id, content.type, content.media) };
      case 'reaction':
      case 'delete': {
        const target = await getMessage(db, row.instance_id, content.messageId);
        return { ...content, fromMe: target ? target.from_me : true };
      }
      case 'text':
      case 'location':
      case 'contact':
      case 'poll':
        return content;
      default:
        return unhandled(content);
    }
  }

  /**
   * Looks up the batch's recipients not looked up lately in one query: one by one, a burst to many new
   * numbers waited a round trip per number before each send. A failed lookup is left to ensureRecipient.
   */
  async function lookUpRecipients(session: WhatsAppSession, instanceId: string, batch: PendingMessage[]): Promise<void> {
    const unknown = [...new Set(batch.map((m) => m.chat_id))].filter((jid) => !isGroupJid(jid) && !existsCache.has(`${instanceId}|${jid}`));
    if (unknown.length < 2) return;
    try {
      for (const [jid, exists] of await session.existing(unknown)) existsCache.set(`${instanceId}|${jid}`, exists);
    } catch (err) {
      logger.debug({ err, instanceId }, 'looking up recipients failed');
    }
  }

  async function ensureRecipient(session: WhatsAppSession, instanceId: string, jid: string): Promise<void> {
    if (isGroupJid(jid)) return;
    const exists = await existsCache.get(`${instanceId}|${jid}`, async () => (await session.exists(jid)).exists);
    if (!exists) {
      // The send stored a chat for it; a number WhatsApp does not know has none.
      await forgetUnknownChat(db, instanceId, jid);
      throw new PermanentSendError(`${jid.split('@')[0]} is not on WhatsApp`);
    }
  }

  /**
   * Whether a message whose send threw (not a PermanentSendError) should now
   * fail, and why. The error is counted only while the connection is up: an
   * error that comes back on every try then belongs to the message (content
   * Baileys cannot send, a recipient WhatsApp keeps refusing) and would
   * otherwise hold back every later message of the instance for good. A
   * connection that went down is the drain's failure, not the message's.
   */
  async function givenUp(session: WhatsAppSession, row: PendingMessage, err: unknown): Promise<string | undefined> {
    const open =
      host.get(row.instance_id) === session &&
      (await session.waitOpen(0).then(
        () => true,
        () => false,
      ));
    if (!open) return undefined;
    const failures = await recordSendFailure(db, row.instance_id, row.id);
    if (failures < MAX_SEND_FAILURES) return undefined;
    return `sending failed ${failures} times: ${err instanceof Error ? err.message : String(err)}`;
  }

  /** What the look-ahead makes of a pending message ahead of its turn: its content, and for media its upload. */
  async function prepareRow(session: WhatsAppSession, mediaSlots: Slots, row: PendingMessage): Promise<Ready> {
    const content = row.content;
    if (!('media' in content)) return { message: { id: row.id, to: row.chat_id, content: await resolveContent(row) } };
    // A few media files at a time, each held in memory until it is uploaded.
    return mediaSlots.run(async () => {
      const message: OutgoingMessage = { id: row.id, to: row.chat_id, content: await resolveContent(row) };
      return { message, prepared: session.prepare ? await session.prepare(message) : undefined };
    });
  }

  /**
   * Sends what the look-ahead has ready, in order per recipient, spacing the
   * sends by the instance's sendDelay, until nothing more is ready (the rest
   * wait behind a preparation under way). Their statuses are written while
   * later messages go out. Returns how many it sent or failed.
   */
  async function sendReady(
    session: WhatsAppSession,
    instanceId: string,
    queue: SendQueue,
    delayMs: number,
    statuses: StatusWriter,
    result: DrainResult,
    heartbeat: () => void,
  ): Promise<number> {
    const ctx = Context.current();
    let done = 0;
    for (;;) {
      heartbeat();
      if (ctx.cancellationSignal.aborted || !queue.ready()) break;
      const next = queue.take();
      if (!next) break;
      const { item: row, prepared } = next;
      const typingMs = prepared.ok ? Math.min(MAX_TYPING_MS, Math.max(0, row.typing_ms ?? 0)) : 0;
      // The typing is spent within the send delay: the recipient sees it in the gap, which grows only when it is longer.
      const wait = (lastSentAt.get(instanceId) ?? 0) + delayMs - typingMs - Date.now();
      if (delayMs > 0 && wait > 0) await sleep(wait, undefined, { signal: ctx.cancellationSignal }).catch(() => {});
      // Left pending (taken by this drain only): the next drain sends it, typing again.
      if (ctx.cancellationSignal.aborted) break;
      done++;
      try {
        if (!prepared.ok) throw prepared.error;
        await ensureRecipient(session, instanceId, row.chat_id);
        if (typingMs > 0 && !(await typeFirst(session, instanceId, prepared.value.message, typingMs))) break;
        await session.send(prepared.value.message, prepared.value.prepared);
        // The request waiting for it can answer now; its status is recorded once its keys are stored.
        announceSent(db, instanceId, row.id).catch((err) => logger.warn({ err, instanceId }, 'announcing a sent message failed'));
        const sentAt = Date.now();
        lastSentAt.set(instanceId, sentAt);
        messagesSent.inc({ outcome: 'sent' });
        if (row.created_at) sendLatency.observe(Math.max(0, sentAt - new Date(row.created_at).getTime()) / 1000);
        statuses.add(row.seq, { id: row.id, status: 'sent', sentAt });
        result.sent++;
      } catch (err) {
        const reason = err instanceof PermanentSendError ? err.message : await givenUp(session, row, err);
        if (reason === undefined) throw err;
        logger.info({ instanceId, id: row.id, reason }, 'message failed');
        messagesSent.inc({ outcome: 'failed' });
        statuses.add(row.seq, { id: row.id, status: 'failed', error: reason });
        result.failed++;
      }
    }
    return done;
  }

  /**
   * Shows the recipient "composing" ("recording" before a voice note) for
   * `ms`, then "paused". False when the drain is cancelled or the worker
   * leaves meanwhile: the message stays pending for the next drain. A
   * presence WhatsApp does not take costs nothing but the look: the message
   * still goes.
   */
  async function typeFirst(session: WhatsAppSession, instanceId: string, message: OutgoingMessage, ms: number): Promise<boolean> {
    const signal = Context.current().cancellationSignal;
    const show = (state: 'composing' | 'recording' | 'paused') =>
      session.sendPresence(state, message.to).catch((err) => logger.debug({ err, instanceId, state }, 'sending a presence failed'));
    await show(message.content.type === 'voice' ? 'recording' : 'composing');
    const typed = await Promise.race([sleep(ms, true, { signal }).catch(() => false), host.evacuating.then(() => false)]);
    if (!typed) return false;
    await show('paused');
    return true;
  }

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
      const session = host.get(instanceId);
      if (!session) return { ...result, notConnected: true };
      try {
        await session.waitOpen(15_000);
      } catch {
        return { ...result, notConnected: true };
      }
      const started = Date.now();
      // Each heartbeat crosses into Temporal's native core; a few per heartbeat timeout are plenty.
      let lastBeat = 0;
      const heartbeat = () => {
        if (Date.now() - lastBeat < HEARTBEAT_EVERY_MS) return;
        lastBeat = Date.now();
        ctx.heartbeat();
      };
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
              await lookUpRecipients(session, instanceId, picked.messages);
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

/** A message prepared ahead: its content, and what the session made of it (a media message's upload). */
interface Ready {
  message: OutgoingMessage;
  prepared?: PreparedMessage;
}

type SendQueue = LookAhead<PendingMessage & { key: string }, Ready>;

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
