/**
 * Accepting outgoing messages. Concurrent requests are stored together:
 * while one statement runs, the messages arriving meanwhile wait and go in
 * the next (db/coalescer.ts), so a busy API pays one round trip and one
 * commit per batch instead of per message. A batch stores its messages in
 * the order they arrived; concurrent requests have no order among them
 * anyway, and a client's requests made one after another keep theirs.
 */
import { Coalescer, coalescersBy } from './coalescer.js';
import { preparedQuery, type Db } from './knex.js';
import type { MessageRow } from './messages.js';
import { pauseEventsSql } from './chatbot.js';
import { OUTBOX_CHANNEL } from './outbox.js';
import type { InstanceRow } from './instances.js';
import { bodyOf, messageType, type StoredContent } from '../domain/content.js';

export interface NewOutgoing {
  instanceId: string;
  id: string;
  chatId: string;
  from: string | null;
  type: string;
  body: string | null;
  content: Record<string, unknown>;
  idempotencyKey?: string;
  /** With a client's idempotency key: what its request asked for, so that the key reused for another request is told apart. */
  requestFingerprint?: string;
  /** Where it comes from (`messages.source`): the API (`person` when marked as a person's), a campaign, a schedule, the bot, a declined call's reply, a conversation flow. */
  source: OutgoingSource;
  /** Typing shown to the recipient before it is sent (domain/typing.ts). */
  typingMs?: number;
}

export type OutgoingSource = 'api' | 'person' | 'bulk' | 'scheduled' | 'chatbot' | 'call' | 'flow';

/**
 * An outgoing message of the instance with this content: its type and body
 * (what history and webhooks show) follow from the content, and it is from
 * the account's phone-number JID (its device JID names one linked device,
 * not the sender).
 */
export function outgoing(
  instance: Pick<InstanceRow, 'id' | 'account'> | undefined,
  message: {
    instanceId: string;
    id: string;
    chatId: string;
    content: StoredContent;
    idempotencyKey?: string;
    requestFingerprint?: string;
    source: OutgoingSource;
    typingMs?: number;
  },
): NewOutgoing {
  return {
    instanceId: message.instanceId,
    id: message.id,
    chatId: message.chatId,
    from: instance?.account ? `${instance.account.phone}@s.whatsapp.net` : null,
    type: messageType(message.content),
    body: bodyOf(message.content),
    content: message.content as unknown as Record<string, unknown>,
    idempotencyKey: message.idempotencyKey,
    ...(message.requestFingerprint ? { requestFingerprint: message.requestFingerprint } : {}),
    source: message.source,
    ...(message.typingMs ? { typingMs: message.typingMs } : {}),
  };
}

/** What a request needs back of its stored message. */
export type StoredOutgoing = Pick<MessageRow, 'seq' | 'id' | 'status'>;

export interface Inserted {
  row: StoredOutgoing;
  /** False when the idempotency key was used before: `row` is that earlier message. */
  created: boolean;
  /** Not created: whether the earlier message was stored for the same request (a retry), not another one under the same key. */
  sameRequest?: boolean;
  /** A drain of the instance's outbox is running and will take the message (see db/outbox.ts); unknown when not created. */
  drainActive?: boolean;
}

const batchers = coalescersBy((db: Db) => new Coalescer((messages: NewOutgoing[]) => insertMany(db, messages)));

/**
 * Writes a new outgoing message as pending, touches its chat and NOTIFYs a
 * running outbox drain, in one statement shared with concurrent calls. With
 * an idempotency key already used, returns that message instead.
 */
export function insertOutgoing(db: Db, message: NewOutgoing): Promise<Inserted> {
  return batchers(db).submit(message);
}

async function insertMany(db: Db, messages: NewOutgoing[]): Promise<Inserted[]> {
  const now = Math.floor(Date.now() / 1000);
  const rows = await preparedQuery<StoredOutgoing & { notified: unknown; drain_active: boolean; ord: string }>(
    db,
    'insert_outgoing',
    `with input as (
       select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::jsonb[], $8::text[], $11::text[], $12::int[], $13::text[])
              with ordinality as t(instance_id, id, chat_id, from_jid, type, body, content, idempotency_key, source, typing_ms, request_fingerprint, ord)
     ), m as (
       insert into messages (instance_id, id, chat_id, from_jid, to_jid, from_me, type, body, content, status, idempotency_key, timestamp, source, typing_ms, request_fingerprint)
       select instance_id, id, chat_id, from_jid, chat_id, true, type, body, content, 'pending', idempotency_key, $9, source, typing_ms, request_fingerprint from input order by ord
       on conflict (instance_id, idempotency_key) where idempotency_key is not null do nothing
       returning seq, instance_id, id, chat_id, status, timestamp, source
     ), paused as (
       -- A send marked as a person's pauses the bot in its chat, announced when the pause starts.
       ${pauseEventsSql('m', '$9::bigint * 1000')}
     ), chat as (
       insert into chats (instance_id, id, last_message)
       -- A status (story) or a channel's post is no chat.
       select instance_id, chat_id, max(timestamp) from m where chat_id <> 'status@broadcast' and chat_id not like '%@newsletter'
        group by instance_id, chat_id
       on conflict (instance_id, id) do update set last_message = excluded.last_message
       -- Within the same second there is nothing to change: no new row version.
       where chats.last_message is null or chats.last_message < excluded.last_message
     ), drain as (
       -- Locked with the insert: a drain clearing its flag waits for this commit, then sees the message (db/outbox.ts).
       select instance_id, active_until > now() as active from outbox_drains
        where instance_id in (select distinct instance_id from input) for share
     )
     -- Heard at commit by a drain of each instance's outbox, if one is running.
     select m.seq, m.id, m.status, i.ord, pg_notify($10, m.instance_id) as notified, coalesce(d.active, false) as drain_active
       from m join input i on i.instance_id = m.instance_id and i.id = m.id
       left join drain d on d.instance_id = m.instance_id`,
    [
      messages.map((m) => m.instanceId),
      messages.map((m) => m.id),
      messages.map((m) => m.chatId),
      messages.map((m) => m.from),
      messages.map((m) => m.type),
      messages.map((m) => m.body),
      messages.map((m) => JSON.stringify(m.content)),
      messages.map((m) => m.idempotencyKey ?? null),
      now,
      OUTBOX_CHANNEL,
      messages.map((m) => m.source),
      messages.map((m) => m.typingMs ?? null),
      messages.map((m) => m.requestFingerprint ?? null),
    ],
  );
  const byOrd = new Map(rows.map(({ notified: _, ord, drain_active, ...row }) => [Number(ord), { row, drainActive: drain_active }]));
  return Promise.all(
    messages.map(async (message, i) => {
      const inserted = byOrd.get(i + 1);
      if (inserted) return { row: inserted.row, created: true, drainActive: inserted.drainActive };
      // Not inserted: its idempotency key was used (by an earlier request, or an earlier message of this batch).
      const existing: (StoredOutgoing & Pick<MessageRow, 'request_fingerprint'>) | undefined = await db<MessageRow>('messages')
        .where({ instance_id: message.instanceId, idempotency_key: message.idempotencyKey! })
        .first('seq', 'id', 'status', 'request_fingerprint');
      if (!existing) throw new Error(`message ${message.id} was neither stored nor found by its idempotency key`);
      const { request_fingerprint: fingerprint, ...row } = existing;
      // A message stored before fingerprints were kept (or by the gateway itself) counts as the same request.
      const sameRequest = !fingerprint || !message.requestFingerprint || fingerprint === message.requestFingerprint;
      return { row, created: false, sameRequest };
    }),
  );
}
