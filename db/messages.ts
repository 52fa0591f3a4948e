/**
 * The message store. Every change that subscribers hear about (a status
 * moving forward, a message arriving) writes its webhook event in the same
 * transaction, and NOTIFYs API processes waiting on a send.
 */
import type { Knex } from 'knex';
import type { Db } from './knex.js';
import { recordEvent, recordEvents } from './events.js';
import { OUTBOX_CHANNEL } from './outbox.js';
import type { IncomingMessage, MessageStatus, StatusUpdate } from '../whatsapp/session.js';

export const STATUS_CHANNEL = 'wa_message_status';

export interface MessageRow {
  seq: string;
  instance_id: string;
  id: string;
  chat_id: string;
  from_jid: string | null;
  to_jid: string | null;
  from_me: boolean;
  type: string;
  body: string | null;
  content: Record<string, unknown> | null;
  media: Record<string, unknown> | null;
  status: MessageStatus;
  error: string | null;
  idempotency_key: string | null;
  timestamp: string;
  send_attempts: number;
  created_at: Date;
}

/** Outgoing statuses only move forward along this order. */
const RANK: Record<string, number> = { pending: 0, sent: 1, delivered: 2, read: 3, played: 4 };

export interface NewOutgoing {
  instanceId: string;
  id: string;
  chatId: string;
  from: string | null;
  type: string;
  body: string | null;
  content: Record<string, unknown>;
  idempotencyKey?: string;
}

/**
 * Writes a new outgoing message as pending, touches its chat and NOTIFYs a
 * running outbox drain, in one statement (one round trip, one commit). With
 * an idempotency key already used, returns that message instead.
 */
export async function insertOutgoing(db: Db, message: NewOutgoing): Promise<{ row: MessageRow; created: boolean }> {
  const { rows } = await db.raw(
    `with m as (
       insert into messages (instance_id, id, chat_id, from_jid, to_jid, from_me, type, body, content, status, idempotency_key, timestamp)
       values (:instanceId, :id, :chatId, :from, :chatId, true, :type, :body, :content, 'pending', :idempotencyKey, :timestamp)
       on conflict (instance_id, idempotency_key) where idempotency_key is not null do nothing
       returning *
     ), chat as (
       insert into chats (instance_id, id, last_message)
       select instance_id, chat_id, timestamp from m
       on conflict (instance_id, id) do update set last_message = greatest(chats.last_message, excluded.last_message)
     )
     -- Heard at commit by a drain of this instance's outbox, if one is running.
     select m.*, pg_notify(:channel, m.instance_id) as notified from m`,
    {
      instanceId: message.instanceId,
      id: message.id,
      chatId: message.chatId,
      from: message.from,
      type: message.type,
      body: message.body,
      content: JSON.stringify(message.content),
      idempotencyKey: message.idempotencyKey ?? null,
      timestamp: Math.floor(Date.now() / 1000),
      channel: OUTBOX_CHANNEL,
    },
  );
  if (rows[0]) {
    const { notified: _, ...row } = rows[0];
    return { row: row as MessageRow, created: true };
  }
  const existing = await db<MessageRow>('messages').where({ instance_id: message.instanceId, idempotency_key: message.idempotencyKey! }).first();
  return { row: existing!, created: false };
}

export async function getMessage(db: Db | Knex.Transaction, instanceId: string, id: string): Promise<MessageRow | undefined> {
  return db<MessageRow>('messages').where({ instance_id: instanceId, id }).first();
}

/** The outbox picked these messages up to send them now (counted, and timed for operators and benchmarks). */
export async function notePickedUp(db: Db, instanceId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await db('messages')
    .where({ instance_id: instanceId })
    .whereIn('id', ids)
    .update({ send_attempts: db.raw('send_attempts + 1'), last_attempt_at: db.fn.now() });
}

const ORDER: MessageStatus[] = ['pending', 'sent', 'delivered', 'read', 'played'];

/** Whether `row` may move to `status`: outgoing statuses only move forward, and only a pending message can fail. */
function allowed(row: Pick<MessageRow, 'status' | 'from_me'>, status: MessageStatus): boolean {
  return status === 'failed' ? row.status === 'pending' : row.from_me && (RANK[status] ?? -1) > (RANK[row.status] ?? 99);
}

export interface StatusChange {
  id: string;
  status: MessageStatus;
  error?: string;
}

/** Moves a message's status forward (never backwards); false when it did not change. */
export async function setStatus(db: Db, instanceId: string, id: string, status: MessageStatus, error?: string): Promise<boolean> {
  return (await setStatuses(db, instanceId, [{ id, status, ...(error ? { error } : {}) }])) > 0;
}

/**
 * Moves many messages' statuses forward in one transaction and a handful of
 * statements, whatever their number; each step is recorded as a
 * `message_ack` event and NOTIFYed to waiting API requests. Unknown ids
 * (messages from before the gateway) and backward moves are ignored.
 * Returns how many messages changed.
 */
export async function setStatuses(db: Db, instanceId: string, changes: StatusChange[]): Promise<number> {
  if (changes.length === 0) return 0;
  return db.transaction(async (trx) => {
    // Locked in one order (seq), so the outbox and the receipt writer never deadlock.
    const rows = await trx<MessageRow>('messages')
      .where({ instance_id: instanceId })
      .whereIn('id', [...new Set(changes.map((c) => c.id))])
      .orderBy('seq')
      .forUpdate()
      .select('id', 'chat_id', 'status', 'from_me');
    const before = new Map(rows.map((row) => [row.id, row.status]));
    const now = new Map(rows.map((row) => [row.id, row]));
    const errors = new Map<string, string | null>();
    const events: Array<{ event: 'message_ack'; data: Record<string, unknown> }> = [];
    for (const change of changes) {
      const row = now.get(change.id);
      if (!row || !allowed(row, change.status)) continue;
      // A read receipt can arrive before the send is confirmed: the steps it implies are announced too, in order.
      const steps = change.status === 'failed' ? ['failed' as const] : ORDER.slice(RANK[row.status]! + 1, RANK[change.status]! + 1);
      for (const step of steps) {
        events.push({ event: 'message_ack', data: { id: row.id, chatId: row.chat_id, status: step, fromMe: true, ...(change.error ? { error: change.error } : {}) } });
      }
      now.set(row.id, { ...row, status: change.status });
      errors.set(row.id, change.error ?? null);
    }
    const changed = [...errors.keys()];
    if (changed.length === 0) return 0;
    const statuses = changed.map((id) => now.get(id)!.status);
    const firstSend = changed.map((id) => before.get(id) === 'pending' && now.get(id)!.status !== 'failed');
    await trx.raw(
      `update messages m
          set status = v.status, error = v.error, updated_at = now(),
              sent_at = case when v.first_send then now() else m.sent_at end
         from (select * from unnest(?::text[], ?::text[], ?::text[], ?::boolean[]) as t(id, status, error, first_send)) v
        where m.instance_id = ? and m.id = v.id`,
      [changed, statuses, changed.map((id) => errors.get(id) ?? null), firstSend, instanceId] as never,
    );
    await recordEvents(trx, instanceId, events);
    await trx.raw('select pg_notify(?, p) from unnest(?::text[]) as p', [
      STATUS_CHANNEL,
      changed.map((id) => `${instanceId}\n${id}\n${now.get(id)!.status}`),
    ]);
    return changed.length;
  });
}

/** Applies receipts; unknown ids (messages from before the gateway) are ignored. */
export async function applyStatuses(db: Db, instanceId: string, updates: StatusUpdate[]): Promise<number> {
  return setStatuses(db, instanceId, updates.map(({ id, status }) => ({ id, status })));
}

/**
 * Stores incoming messages once each (WhatsApp may deliver a message again)
 * with a `message_received` event, and keeps chats and contacts current.
 * Returns the messages that were new.
 */
export async function recordIncoming(db: Db, instanceId: string, messages: IncomingMessage[], media: Map<string, Record<string, unknown>> = new Map()): Promise<IncomingMessage[]> {
  const fresh: IncomingMessage[] = [];
  for (const message of messages) {
    await db.transaction(async (trx) => {
      const stored = media.get(message.id);
      const inserted = await trx('messages')
        .insert({
          instance_id: instanceId,
          id: message.id,
          chat_id: message.chatId,
          from_jid: message.from,
          to_jid: message.to,
          from_me: message.fromMe,
          type: message.type,
          body: message.body,
          media: stored ? JSON.stringify(stored) : null,
          status: message.fromMe ? 'sent' : 'received',
          timestamp: message.timestamp,
        })
        .onConflict(['instance_id', 'id'])
        .ignore()
        .returning('id');
      if (inserted.length === 0) return;
      fresh.push(message);
      await recordEvent(trx, instanceId, 'message_received', {
        id: message.id,
        from: message.from,
        to: message.to,
        body: message.body,
        type: message.type,
        timestamp: message.timestamp,
        fromMe: message.fromMe,
        chatId: message.chatId,
        ...(message.pushName ? { pushName: message.pushName } : {}),
        ...(message.caption ? { caption: message.caption } : {}),
        ...(stored ? { mimetype: stored.mimetype, media: stored.url } : {}),
      });
      await trx('chats')
        .insert({ instance_id: instanceId, id: message.chatId, last_message: message.timestamp, unread_count: message.fromMe ? 0 : 1 })
        .onConflict(['instance_id', 'id'])
        .merge({
          last_message: trx.raw('greatest(chats.last_message, excluded.last_message)'),
          unread_count: message.fromMe ? 0 : trx.raw('chats.unread_count + 1'),
        });
      if (!message.fromMe && message.pushName && !message.from.endsWith('@g.us')) {
        await trx('contacts')
          .insert({ instance_id: instanceId, id: message.from, notify: message.pushName })
          .onConflict(['instance_id', 'id'])
          .merge({ notify: message.pushName, updated_at: trx.fn.now() });
      }
    });
  }
  return fresh;
}
