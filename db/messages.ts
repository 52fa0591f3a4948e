/**
 * The message store. Every change that subscribers hear about (a status
 * moving forward, a message arriving) writes its webhook event in the same
 * transaction, and NOTIFYs API processes waiting on a send.
 */
import type { StoredContent } from '../domain/content.js';
import type { Knex } from 'knex';
import { Coalescer, coalescersBy } from './coalescer.js';
import { preparedQuery, type Db } from './knex.js';
import { pauseEventsSql } from './chatbot.js';
import { initialDelivery, recordEvent } from './events.js';
import { isChatless, STATUS_CHAT } from '../domain/recipients.js';
import type { IncomingMessage, MessageStatus, StatusUpdate } from '../whatsapp/session.js';

export const STATUS_CHANNEL = 'wa_message_status';

export interface MessageRow {
  seq: string;
  instance_id: string;
  id: string;
  chat_id: string;
  from_jid: string | null;
  /** The sender's LID, when WhatsApp gave one (migration 025). */
  from_lid?: string | null;
  to_jid: string | null;
  from_me: boolean;
  type: string;
  body: string | null;
  content: Record<string, unknown> | null;
  media: Record<string, unknown> | null;
  status: MessageStatus;
  error: string | null;
  idempotency_key: string | null;
  /** What the request that used `idempotency_key` asked for (a hash), for a client's sends. */
  request_fingerprint?: string | null;
  timestamp: string;
  /** When it went out on the socket (outgoing messages). */
  sent_at?: Date | null;
  send_failures: number;
  /** Where an outgoing message came from: api, phone, chatbot, bulk, scheduled (db/migrations/013_chatbot.ts). */
  source: string | null;
  /** For a bot reply: its rule, and the incoming message it answers. */
  rule_id: number | null;
  reply_to: string | null;
  /** Typing shown before it is sent (migration 018). */
  typing_ms: number | null;
  /** When it was last edited (unix seconds), and its edits in order (migration 026). */
  edited_at?: string | null;
  edits?: Array<{ body: string; previous: string; editedAt: number }> | null;
  /** When and by whom it was deleted for everyone. */
  revoked_at?: string | null;
  revoked_by?: string | null;
  created_at: Date;
}

/** Outgoing statuses only move forward along this order. */
const RANK: Record<string, number> = { pending: 0, sent: 1, delivered: 2, read: 3, played: 4 };

export async function getMessage(db: Db | Knex.Transaction, instanceId: string, id: string): Promise<MessageRow | undefined> {
  return db<MessageRow>('messages').where({ instance_id: instanceId, id }).first();
}

/** What the outbox needs of a pending message to send it: an outgoing message's content is always there, as stored. */
export type PendingMessage = Pick<MessageRow, 'seq' | 'id' | 'instance_id' | 'chat_id'> & { content: StoredContent } & Partial<
    Pick<MessageRow, 'created_at' | 'typing_ms'>
  >;

export interface PickedUp {
  messages: PendingMessage[];
  /** The instance's sendDelay (ms between its outgoing messages). */
  sendDelayMs: number;
}

/**
 * The instance's next pending outgoing messages, in the order they were
 * accepted, with the instance's current sendDelay. Nothing is written: a
 * message is marked only when its status moves (the statement that records
 * it as sent carries the moment it went out). `exclude`: messages (by seq)
 * the caller has taken already (in hand, or sent with the status still being
 * written).
 */
export async function pickUpPending(db: Db, instanceId: string, limit: number, exclude: string[] = []): Promise<PickedUp> {
  const rows = await preparedQuery<PendingMessage & { send_delay_ms: number | null }>(
    db,
    'pick_up_pending',
    `select seq, id, instance_id, chat_id, content, created_at, typing_ms,
            (select send_delay_ms from instance_settings where instance_id = $1) as send_delay_ms
       from messages
      where instance_id = $1 and status = 'pending' and from_me and not (seq = any($3::bigint[]))
      order by seq limit $2`,
    [instanceId, limit, exclude],
  );
  const messages = rows.map(({ send_delay_ms: _, ...message }) => message);
  return { messages, sendDelayMs: Number(rows[0]?.send_delay_ms ?? 0) };
}

/**
 * Messages written to a connection that ended before WhatsApp acknowledged them (whatsapp/baileys/watchdog.ts):
 * pending again, so the outbox sends them once more with the same ids (WhatsApp keeps one copy per id). Only
 * while `sent`: a receipt since (delivered, read) proves they arrived. Returns how many.
 */
export async function resendUnacked(db: Db, instanceId: string, ids: string[]): Promise<number> {
  if (ids.length === 0) return 0;
  return db('messages')
    .where({ instance_id: instanceId, status: 'sent', from_me: true })
    .whereIn('id', ids)
    .update({ status: 'pending', updated_at: db.fn.now() });
}

/** Counts a failed send of a message that is still pending; returns how many have failed so far. */
export async function recordSendFailure(db: Db, instanceId: string, id: string): Promise<number> {
  const [row] = await db('messages')
    .where({ instance_id: instanceId, id, status: 'pending' })
    .increment('send_failures', 1)
    .returning('send_failures');
  return Number(row?.send_failures ?? 0);
}

export interface StatusChange {
  id: string;
  status: MessageStatus;
  error?: string;
  /** When the message went out on the socket (ms since the epoch), recorded as `sent_at`; else the write's time. */
  sentAt?: number;
}

const statusWriters = coalescersBy(
  (db: Db, instanceId) =>
    new Coalescer(
      async (batches: StatusChange[][]) => {
        const changed = await writeStatuses(db, instanceId, batches.flat());
        return batches.map((batch) => new Set(batch.map((c) => c.id).filter((id) => changed.has(id))).size);
      },
      { parallel: 1 },
    ),
);

const announcers = coalescersBy(
  (db: Db, instanceId) =>
    new Coalescer(
      async (ids: string[]) => {
        await preparedQuery(
          db,
          'announce_sent',
          `select pg_notify($1, $2 || chr(10) || id || chr(10) || 'sent') from unnest($3::text[]) as id`,
          [STATUS_CHANNEL, instanceId, ids],
        );
        return ids.map(() => undefined);
      },
      { parallel: 1, maxBatch: 1_000 },
    ),
);

/**
 * Tells the requests waiting for these messages (api/sendWaiter.ts) that they
 * went out, before their status is recorded: recording waits for the Signal
 * keys that encrypted them to be stored (see the outbox), which a request
 * need not wait for. Messages sent meanwhile share the next statement.
 */
export function announceSent(db: Db, instanceId: string, id: string): Promise<void> {
  return announcers(db, instanceId).submit(id);
}

/**
 * Moves many messages' statuses forward in one statement (one round trip and
 * one commit, whatever their number): each step is recorded as a
 * `message_ack` event, in order; a message's first step out of pending is
 * NOTIFYed to waiting API requests.
 * Unknown ids (messages from before the gateway) and backward moves are
 * ignored. Returns how many of these messages changed.
 *
 * An instance's status writes in this process go one at a time, and the
 * changes arriving meanwhile from every writer (the outbox's "sent", the
 * receipts) go together in the next: they never wait on each other's row
 * locks, and a receipt that comes right after its send shares the write.
 */
export function setStatuses(db: Db, instanceId: string, changes: StatusChange[]): Promise<number> {
  return statusWriters(db, instanceId).submit(changes);
}

async function writeStatuses(db: Db, instanceId: string, changes: StatusChange[]): Promise<Set<string>> {
  // One change per message: the furthest along (a failure only if nothing moved it forward).
  const furthest = new Map<string, StatusChange>();
  for (const change of changes) {
    const seen = furthest.get(change.id);
    const ahead = !seen || (RANK[change.status] ?? 0.5) > (RANK[seen.status] ?? 0.5) ? change : seen;
    // A receipt that shares the write with the send keeps the send's time.
    furthest.set(change.id, { ...ahead, sentAt: change.sentAt ?? seen?.sentAt });
  }
  if (furthest.size === 0) return new Set();
  const wanted = [...furthest.values()];
  const rows = await preparedQuery(
    db,
    'set_statuses',
    `with wanted as (
       select * from unnest($1::text[], $2::text[], $3::text[], $7::float8[]) as t(id, status, error, sent_ms)
     ), ranks(status, rank) as (
       values ('pending', 0), ('sent', 1), ('delivered', 2), ('read', 3), ('played', 4)
     ), current as (
       -- Locked in one order (seq), so the outbox and the receipt writer never deadlock.
       select m.id, m.chat_id, m.status, m.from_me from messages m
        where m.instance_id = $4 and m.id in (select id from wanted)
        order by m.seq for update
     ), moves as (
       select c.id, c.chat_id, c.status as old_status, w.status as new_status, w.error, w.sent_ms, o.rank as old_rank, n.rank as new_rank
         from current c join wanted w on w.id = c.id
         left join ranks o on o.status = c.status
         left join ranks n on n.status = w.status
        where (w.status = 'failed' and c.status = 'pending') or (c.from_me and n.rank > o.rank)
     ), updated as (
       update messages m
          set status = v.new_status, error = v.error, updated_at = now(),
              sent_at = case when v.old_status = 'pending' and v.new_status <> 'failed'
                         then coalesce(to_timestamp(v.sent_ms / 1000), now()) else m.sent_at end,
              -- A message accepted before the instance first connected gets its sender once it goes out.
              from_jid = case when m.from_jid is null and m.from_me and v.new_status <> 'failed'
                         then (select (i.account->>'phone') || '@s.whatsapp.net' from instances i where i.id = $4) else m.from_jid end
         from moves v
        where m.instance_id = $4 and m.id = v.id
       returning v.*
     ), events as (
       -- A read receipt can arrive before the send is confirmed: the steps it implies are announced too, in order.
       insert into webhook_events (id, instance_id, event, data, timestamp, delivery_status)
       select gen_random_uuid(), $4, 'message_ack',
              jsonb_strip_nulls(jsonb_build_object('id', u.id, 'chatId', u.chat_id, 'status', s.status, 'fromMe', true, 'error', u.error)),
              $5, ${initialDelivery('$4')}
         from updated u
         cross join lateral (
           select 'failed' as status, 0 as rank where u.new_status = 'failed'
           union all
           select r.status, r.rank from ranks r where u.new_status <> 'failed' and r.rank > u.old_rank and r.rank <= u.new_rank
         ) s
        order by u.id, s.rank
     )
     -- Waiting requests need only a message's first step out of pending (see api/sendWaiter.ts); the drain
     -- announced "sent" already, when the message went out (announceSent).
     select u.id, case when u.old_status = 'pending' and u.new_status <> 'sent'
                       then pg_notify($6, $4 || chr(10) || u.id || chr(10) || u.new_status) end as notified
       from updated u`,
    [
      wanted.map((c) => c.id),
      wanted.map((c) => c.status),
      wanted.map((c) => c.error ?? null),
      instanceId,
      Date.now(),
      STATUS_CHANNEL,
      wanted.map((c) => c.sentAt ?? null),
    ],
  );
  return new Set(rows.map((row) => row.id as string));
}

/** Applies receipts; unknown ids (messages from before the gateway) are ignored. */
export async function applyStatuses(db: Db, instanceId: string, updates: StatusUpdate[]): Promise<number> {
  return setStatuses(
    db,
    instanceId,
    updates.map(({ id, status }) => ({ id, status })),
  );
}

/**
 * Stores incoming messages once each (WhatsApp may deliver a message again)
 * with a `message_received` event, and keeps chats and contacts current.
 * Returns the messages that were new.
 */
export async function recordIncoming(
  db: Db,
  instanceId: string,
  messages: IncomingMessage[],
  media: Map<string, Record<string, unknown>> = new Map(),
): Promise<IncomingMessage[]> {
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
          from_lid: message.fromLid ?? null,
          to_jid: message.to,
          from_me: message.fromMe,
          type: message.type,
          body: message.body,
          media: stored ? JSON.stringify(stored) : null,
          // A poll keeps its options and key, to read and count its votes.
          content: message.poll
            ? JSON.stringify({
                type: 'poll',
                name: message.body,
                values: message.poll.options,
                selectableCount: message.poll.selectableCount,
                ...(message.poll.secret ? { secret: message.poll.secret } : {}),
              })
            : null,
          status: message.fromMe ? 'sent' : 'received',
          timestamp: message.timestamp,
          // Our own messages that come in were written on the phone (or another linked device): a person.
          source: message.fromMe ? 'phone' : null,
        })
        .onConflict(['instance_id', 'id'])
        .ignore()
        .returning('id');
      if (inserted.length === 0) return;
      fresh.push(message);
      const chatless = isChatless(message.chatId);
      // Written on the phone: a person, who pauses the bot in the chat (announced when the pause starts).
      if (message.fromMe && !chatless)
        await trx.raw(
          `with n as (select ?::text as instance_id, ?::text as chat_id, ?::text as id, 'phone'::text as source, ?::bigint as timestamp)
           ${pauseEventsSql('n', '?::bigint')}`,
          [instanceId, message.chatId, message.id, message.timestamp, Date.now()],
        );
      const event = message.chatId === STATUS_CHAT ? 'status_received' : chatless ? 'channel_message' : 'message_received';
      await recordEvent(trx, instanceId, event, {
        id: message.id,
        from: message.from,
        ...(message.fromLid ? { fromLid: message.fromLid } : {}),
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
      // A status (story) or a channel's post is no chat: the status and channel routes list them.
      if (!chatless)
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

/** Whether the instance has an outgoing message still waiting to be sent. */
export async function hasPendingOutgoing(db: Db, instanceId: string): Promise<boolean> {
  return !!(await db('messages').where({ instance_id: instanceId, status: 'pending', from_me: true }).first('seq'));
}

/** Which of these messages are no longer pending. */
export async function noLongerPending(db: Db, instanceId: string, ids: string[]): Promise<string[]> {
  const rows = await db('messages').where({ instance_id: instanceId }).whereIn('id', ids).whereNot({ status: 'pending' }).select('id');
  return rows.map((r: { id: string }) => r.id);
}

/** Which of these messages are stored already. */
export async function storedIds(db: Db, instanceId: string, ids: string[]): Promise<Set<string>> {
  const rows = await db('messages').where({ instance_id: instanceId }).whereIn('id', ids).select('id');
  return new Set(rows.map((r: { id: string }) => r.id));
}
