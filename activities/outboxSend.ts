import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import { announceSent, recordSendFailure, type PendingMessage } from '../db/messages.js';
import type { StatusWriter } from './statusWriter.js';
import type { LookAhead } from './lookAhead.js';
import { messagesSent, sendLatency } from '../lib/metrics.js';
import { MAX_TYPING_MS } from '../domain/typing.js';
import { isChatless } from '../domain/recipients.js';
import type { OutgoingMessage, WhatsAppSession } from '../whatsapp/session.js';
import { changeMessages } from './messageChanges.js';
import { PermanentSendError } from './permanentSendError.js';
import type { Ready } from './outboxContent.js';
import type { RecipientLookups } from './outboxRecipients.js';
import type { DrainResult, OutboxDeps } from './outbox.js';

/**
 * Failed sends of one message, with the connection up throughout, after which
 * it is marked failed. The outbox workflow retries a failed drain with growing
 * pauses (workflows/outbox.ts), so this many take about two minutes.
 */
export const MAX_SEND_FAILURES = 8;

export type SendQueue = LookAhead<PendingMessage & { key: string }, Ready>;

/** Sends what a drain has ready: spaced, typed first, each failure counted or marked. */
export function createSender(
  { db, host, logger, media }: Pick<OutboxDeps, 'db' | 'host' | 'logger' | 'media'>,
  { ensureRecipient }: RecipientLookups,
) {
  // When each instance last sent, so sendDelay also spaces sends of separate batches.
  const lastSentAt = new Map<string, number>();

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
      // Nobody sees typing in a status or a channel.
      const typingMs = prepared.ok && !isChatless(row.chat_id) ? Math.min(MAX_TYPING_MS, Math.max(0, row.typing_ms ?? 0)) : 0;
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
        statuses.add(row.seq, { id: row.id, status: 'sent', sentAt }, () => changeTarget(instanceId, prepared.value.message, sentAt));
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
   * An edit or a delete that went out changes the stored message it is about,
   * as one heard from the phone does.
   */
  async function changeTarget(instanceId: string, { to, content }: OutgoingMessage, sentAt: number): Promise<void> {
    if (content.type !== 'edit' && content.type !== 'delete') return;
    const common = { id: content.messageId, chatId: to, by: '', fromMe: true, at: Math.floor(sentAt / 1000), trusted: true } as const;
    await changeMessages({ db, media, logger }, instanceId, [
      content.type === 'edit' ? { ...common, kind: 'edit', body: content.body } : { ...common, kind: 'revoke' },
    ]);
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

  return { sendReady };
}
