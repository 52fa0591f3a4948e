import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { getMessage, noteSendAttempt, setStatus, type MessageRow } from '../db/messages.js';
import type { StoredContent, MediaRef } from '../lib/content.js';
import type { MediaStore } from '../lib/mediaStore.js';
import { detectMimetype } from '../lib/mediaStore.js';
import { FetchRefused, safeFetch } from '../lib/safeFetch.js';
import { isGroupJid } from '../lib/recipients.js';
import type { Media, OutgoingContent, WhatsAppSession } from '../whatsapp/session.js';
import type { SessionHost } from '../worker/sessionHost.js';

/** A send that can never succeed: the message is marked failed with this reason. */
export class PermanentSendError extends Error {}

export interface OutboxDeps {
  db: Db;
  host: SessionHost;
  media: MediaStore;
  logger: Logger;
  maxMediaBytes: number;
  allowPrivateMediaUrls: boolean;
}

const EXISTS_TTL_MS = 10 * 60_000;

export function createOutboxActivities(deps: OutboxDeps) {
  const { db, host, logger } = deps;
  // Whether a number is on WhatsApp, per instance and JID, for a few minutes.
  const existsCache = new Map<string, { exists: boolean; at: number }>();
  // When each instance last sent, so sendDelay also spaces sends of separate batches.
  const lastSentAt = new Map<string, number>();

  async function resolveMedia(instanceId: string, ref: MediaRef): Promise<Media> {
    if ('stored' in ref) {
      const file = await deps.media.read(instanceId, ref.stored);
      if (!file) throw new PermanentSendError(`media file ${ref.stored} no longer exists`);
      return file;
    }
    try {
      const fetched = await safeFetch(ref.url, { maxBytes: deps.maxMediaBytes, allowPrivate: deps.allowPrivateMediaUrls });
      return { bytes: fetched.bytes, mimetype: await detectMimetype(fetched.bytes, fetched.contentType?.split(';')[0]) };
    } catch (err) {
      if (err instanceof FetchRefused) throw new PermanentSendError(`media ${ref.url}: ${err.message}`);
      throw err;
    }
  }

  async function resolveContent(row: MessageRow): Promise<OutgoingContent> {
    const content = row.content as StoredContent;
    switch (content.type) {
      case 'image':
      case 'video':
      case 'sticker':
      case 'document':
      case 'audio':
      case 'voice':
        return { ...content, media: await resolveMedia(row.instance_id, content.media) } as OutgoingContent;
      case 'reaction':
      case 'delete': {
        const target = await getMessage(db, row.instance_id, content.messageId);
        return { ...content, fromMe: target ? target.from_me : true };
      }
      default:
        return content;
    }
  }

  async function ensureRecipient(session: WhatsAppSession, instanceId: string, jid: string): Promise<void> {
    if (isGroupJid(jid)) return;
    const key = `${instanceId}|${jid}`;
    const cached = existsCache.get(key);
    const exists = cached && Date.now() - cached.at < EXISTS_TTL_MS ? cached.exists : (await session.exists(jid)).exists;
    existsCache.set(key, { exists, at: Date.now() });
    if (!exists) throw new PermanentSendError(`${jid.split('@')[0]} is not on WhatsApp`);
  }

  return {
    /**
     * Sends the instance's pending messages in order (at most `limit`), on the
     * worker that holds its socket, spacing them by the instance's sendDelay.
     * A crash leaves unsent rows pending: the next run resends them with the
     * same WhatsApp id, so the recipient still gets one message.
     */
    async sendPending({
      instanceId,
      limit,
    }: {
      instanceId: string;
      limit: number;
    }): Promise<{ sent: number; failed: number; more: boolean; notConnected: boolean }> {
      const ctx = Context.current();
      const session = host.get(instanceId);
      const result = { sent: 0, failed: 0, more: false, notConnected: false };
      if (!session) return { ...result, notConnected: true };
      try {
        await session.waitOpen(15_000);
      } catch {
        return { ...result, notConnected: true };
      }
      const settings = await db('instance_settings').where({ instance_id: instanceId }).first('send_delay_ms');
      const delayMs = Number(settings?.send_delay_ms ?? 0);
      const rows = await db<MessageRow>('messages')
        .where({ instance_id: instanceId, status: 'pending', from_me: true })
        .orderBy('seq')
        .limit(limit + 1);
      result.more = rows.length > limit;
      for (const row of rows.slice(0, limit)) {
        ctx.heartbeat();
        if (ctx.cancellationSignal.aborted) break;
        const wait = (lastSentAt.get(instanceId) ?? 0) + delayMs - Date.now();
        if (delayMs > 0 && wait > 0) await sleep(wait, undefined, { signal: ctx.cancellationSignal }).catch(() => {});
        if (ctx.cancellationSignal.aborted) break;
        try {
          await noteSendAttempt(db, instanceId, row.id);
          const content = await resolveContent(row);
          await ensureRecipient(session, instanceId, row.chat_id);
          await session.send({ id: row.id, to: row.chat_id, content });
          lastSentAt.set(instanceId, Date.now());
          await setStatus(db, instanceId, row.id, 'sent');
          result.sent++;
        } catch (err) {
          if (!(err instanceof PermanentSendError)) throw err;
          logger.info({ instanceId, id: row.id, reason: err.message }, 'message failed');
          await setStatus(db, instanceId, row.id, 'failed', err.message);
          result.failed++;
        }
      }
      return result;
    },
  };
}

export type OutboxActivities = ReturnType<typeof createOutboxActivities>;
