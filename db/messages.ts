/**
 * The message store. Every change that subscribers hear about (a status
 * moving forward, a message arriving) writes its webhook event in the same
 * transaction, and NOTIFYs API processes waiting on a send.
 */
import type { Knex } from 'knex';
import type { Db } from './knex.js';
import { recordEvent } from './events.js';
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

/** Writes a new outgoing message as pending; with an idempotency key already used, returns that message instead. */
export async function insertOutgoing(db: Db, message: NewOutgoing): Promise<{ row: MessageRow; created: boolean }> {
  const inserted = await db<MessageRow>('messages')
    .insert({
      instance_id: message.instanceId,
      id: message.id,
      chat_id: message.chatId,
      from_jid: message.from,
      to_jid: message.chatId,
      from_me: true,
      type: message.type,
      body: message.body,
      content: JSON.stringify(message.content) as never,
      status: 'pending',
      idempotency_key: message.idempotencyKey ?? null,
      timestamp: Math.floor(Date.now() / 1000) as never,
    })
    .onConflict(db.raw('(instance_id, idempotency_key) where idempotency_key is not null'))
    .ignore()
    .returning('*');
  if (inserted[0]) {
    await db('chats')
      .insert({ instance_id: message.instanceId, id: message.chatId, last_message: inserted[0].timestamp })
      .onConflict(['instance_id', 'id'])
      .merge({ last_message: db.raw('greatest(chats.last_message, excluded.last_message)') });
    return { row: inserted[0], created: true };
  }
  const existing = await db<MessageRow>('messages').where({ instance_id: message.instanceId, idempotency_key: message.idempotencyKey! }).first();
  return { row: existing!, created: false };
}

export async function getMessage(db: Db | Knex.Transaction, instanceId: string, id: string): Promise<MessageRow | undefined> {
  return db<MessageRow>('messages').where({ instance_id: instanceId, id }).first();
}

/** Messages still waiting to go out, in the order they were accepted. */
export async function pendingMessages(db: Db, instanceId: string, ids: string[]): Promise<MessageRow[]> {
  return db<MessageRow>('messages').where({ instance_id: instanceId, status: 'pending', from_me: true }).whereIn('id', ids).orderBy('seq');
}

export async function noteSendAttempt(db: Db, instanceId: string, id: string): Promise<void> {
  await db('messages').where({ instance_id: instanceId, id }).increment('send_attempts', 1);
}

const ORDER: MessageStatus[] = ['pending', 'sent', 'delivered', 'read', 'played'];

async function changeStatus(trx: Knex.Transaction, row: MessageRow, status: MessageStatus, error?: string): Promise<boolean> {
  if (status === 'failed' ? row.status !== 'pending' : !(row.from_me && (RANK[status] ?? -1) > (RANK[row.status] ?? 99))) return false;
  await trx('messages')
    .where({ instance_id: row.instance_id, id: row.id })
    .update({ status, error: error ?? null, updated_at: trx.fn.now(), ...(RANK[row.status] === 0 && status !== 'failed' ? { sent_at: trx.fn.now() } : {}) });
  // A read receipt can arrive before the send is confirmed: the steps it implies are announced too, in order.
  const steps = status === 'failed' ? [status] : ORDER.slice(RANK[row.status]! + 1, RANK[status]! + 1);
  for (const step of steps) {
    await recordEvent(trx, row.instance_id, 'message_ack', { id: row.id, chatId: row.chat_id, status: step, fromMe: true, ...(error ? { error } : {}) });
  }
  await trx.raw('select pg_notify(?, ?)', [STATUS_CHANNEL, `${row.instance_id}\n${row.id}\n${status}`]);
  return true;
}

/** Moves a message's status forward (never backwards); false when it did not change. */
export async function setStatus(db: Db, instanceId: string, id: string, status: MessageStatus, error?: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    const row = await trx<MessageRow>('messages').where({ instance_id: instanceId, id }).forUpdate().first();
    return row ? changeStatus(trx, row, status, error) : false;
  });
}

/** Applies receipts; unknown ids (messages from before the gateway) are ignored. */
export async function applyStatuses(db: Db, instanceId: string, updates: StatusUpdate[]): Promise<number> {
  let changed = 0;
  for (const update of updates) if (await setStatus(db, instanceId, update.id, update.status)) changed++;
  return changed;
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
