/**
 * Chatbot rules and the bot's replies. A change to an instance's rules
 * NOTIFYs CHATBOT_CHANNEL with the instance id in the same transaction, so
 * every worker's cache of them (activities/chatbot.ts) follows at once; the
 * on/off switch is a setting (db/settings.ts, announced on its own channel).
 */
import type { Knex } from 'knex';
import type { ChatbotRule } from '../domain/chatbotRules.js';
import type { Db } from './knex.js';
import { OUTBOX_CHANNEL } from './outbox.js';
import type { NewOutgoing } from './outgoing.js';

export const CHATBOT_CHANNEL = 'wa_chatbot';

/** At most this many rules per instance. */
export const MAX_RULES = 2_000;

const COLUMNS = ['id', 'match_type', 'trigger_text', 'response', 'delay', 'enabled', 'priority'] as const;

export async function listRules(db: Db | Knex.Transaction, instanceId: string): Promise<ChatbotRule[]> {
  return db('chatbot_rules')
    .where({ instance_id: instanceId })
    .orderBy([{ column: 'priority' }, { column: 'id' }])
    .select(COLUMNS);
}

export async function getRule(db: Db, instanceId: string, id: number): Promise<ChatbotRule | undefined> {
  return db('chatbot_rules').where({ instance_id: instanceId, id }).first(COLUMNS);
}

/** A rule's fields as stored, without its id. */
export type RuleFields = Omit<ChatbotRule, 'id'>;

const announce = (trx: Knex.Transaction, instanceId: string) => trx.raw('select pg_notify(?, ?)', [CHATBOT_CHANNEL, instanceId]);

/** Creates a rule; undefined when the instance has MAX_RULES already. */
export async function createRule(db: Db, instanceId: string, fields: RuleFields): Promise<ChatbotRule | undefined> {
  return db.transaction(async (trx) => {
    // One creation at a time per instance, so the limit holds under concurrent requests.
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`chatbot rules ${instanceId}`]);
    const [{ n }] = await trx('chatbot_rules').where({ instance_id: instanceId }).count({ n: '*' });
    if (Number(n) >= MAX_RULES) return undefined;
    const [row] = await trx('chatbot_rules')
      .insert({ instance_id: instanceId, ...fields })
      .returning(COLUMNS);
    await announce(trx, instanceId);
    return row;
  });
}

/** Updates a rule with a whole new set of fields (the caller merged them); undefined for an unknown rule. */
export async function updateRule(db: Db, instanceId: string, id: number, fields: RuleFields): Promise<ChatbotRule | undefined> {
  return db.transaction(async (trx) => {
    const [row] = await trx('chatbot_rules')
      .where({ instance_id: instanceId, id })
      .update({ ...fields, updated_at: trx.fn.now() })
      .returning(COLUMNS);
    if (row) await announce(trx, instanceId);
    return row;
  });
}

export async function deleteRule(db: Db, instanceId: string, id: number): Promise<boolean> {
  return db.transaction(async (trx) => {
    const deleted = await trx('chatbot_rules').where({ instance_id: instanceId, id }).delete();
    if (deleted) await announce(trx, instanceId);
    return deleted > 0;
  });
}

/** The idempotency key of the bot's reply to an incoming message: one reply per message, whatever happens. */
export const replyKeyOf = (incomingId: string) => `chatbot ${incomingId}`;

export interface ReplyRequest {
  /** The reply (db/outgoing.ts: outgoing()); its idempotency key is set here. */
  message: NewOutgoing;
  /** The incoming message answered. */
  incomingId: string;
  /** When it arrived (ms since the epoch). */
  receivedAt: number;
  ruleId: number;
  /** How long the bot stays silent in a chat after a person wrote there. */
  pauseMinutes: number;
  /** The most replies per chat per minute. */
  perMinute: number;
}

/** Queued: the reply's id, and whether a running drain of the outbox takes it (else the caller wakes the outbox). */
export type ReplyOutcome = { queued: string; drainActive: boolean } | { dropped: 'takeover' | 'limit' };

/**
 * Stores the bot's reply as a pending outgoing message for the outbox, unless
 * a person wrote in the chat since the message came in or within the pause,
 * or the bot has replied `perMinute` times in the chat within the last
 * minute. The checks and the insert hold a lock on the chat, so concurrent
 * replies in one chat count each other. A reply stored before (a retry) is
 * returned as queued.
 */
export async function storeReply(db: Db, reply: ReplyRequest): Promise<ReplyOutcome> {
  const key = replyKeyOf(reply.incomingId);
  const { message } = reply;
  const where = { instance_id: message.instanceId, chat_id: message.chatId };
  return db.transaction(async (trx) => {
    await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`chatbot ${message.instanceId} ${message.chatId}`]);
    const earlier = await trx('messages').where({ instance_id: message.instanceId, idempotency_key: key }).first('id');
    if (earlier) return { queued: earlier.id as string, drainActive: false };

    const sinceSeconds = Math.floor(Math.min(reply.receivedAt, Date.now() - reply.pauseMinutes * 60_000) / 1000);
    const human = await trx('messages').where(where).whereIn('source', ['api', 'phone']).where('timestamp', '>=', sinceSeconds).first('id');
    if (human) return { dropped: 'takeover' };
    const [{ n }] = await trx('messages')
      .where({ ...where, source: 'chatbot' })
      .where('created_at', '>', trx.raw(`now() - interval '1 minute'`))
      .count({ n: '*' });
    if (Number(n) >= reply.perMinute) return { dropped: 'limit' };

    const now = Math.floor(Date.now() / 1000);
    await trx('messages').insert({
      ...where,
      id: message.id,
      from_jid: message.from,
      to_jid: message.chatId,
      from_me: true,
      type: message.type,
      body: message.body,
      content: JSON.stringify(message.content),
      status: 'pending',
      idempotency_key: key,
      timestamp: now,
      source: 'chatbot',
      rule_id: reply.ruleId,
      reply_to: reply.incomingId,
    });
    await trx('chats')
      .insert({ instance_id: message.instanceId, id: message.chatId, last_message: now })
      .onConflict(['instance_id', 'id'])
      .merge({ last_message: trx.raw('greatest(chats.last_message, excluded.last_message)') });
    // Heard at commit by a running drain of the outbox. Its flag is read under a share lock, as for any send
    // (db/outbox.ts): a drain clearing it waits for this commit, then finds the reply.
    const { rows } = await trx.raw(
      'select pg_notify(?, ?), (select active_until > now() from outbox_drains where instance_id = ? for share) as active',
      [OUTBOX_CHANNEL, message.instanceId, message.instanceId],
    );
    return { queued: message.id, drainActive: rows[0]?.active === true };
  });
}
