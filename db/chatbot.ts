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

/**
 * Where a person's messages come from (`messages.source`): written on the phone or another linked device,
 * or sent through the API marked as a person's (`byPerson`). Only these pause the bot in a chat; the API's
 * other sends, campaigns, schedules and the bot's own replies are automated and do not.
 */
export const PERSON_SOURCES = ['phone', 'person'] as const;
const PERSON = `source in ('phone', 'person')`;

/** Chats the bot answers in: one person's (not groups, status broadcasts, newsletters). */
const ONE_TO_ONE = String.raw`~ '@(s\.whatsapp\.net|lid)$'`;

/**
 * SQL: a `chatbot_paused` event for each new message of a person in `relation` (rows with instance_id,
 * chat_id, id, source, timestamp) that pauses the bot: the bot is on with a pause, the pause is not over
 * already (a message from history), and the bot was not paused in that chat before (a person's later
 * messages extend the pause without a new event). `$now` is the events' time in ms.
 */
export const pauseEventsSql = (relation: string, nowMs: string) => `
  insert into webhook_events (id, instance_id, event, data, timestamp, delivery_status)
  select distinct on (n.instance_id, n.chat_id) gen_random_uuid(), n.instance_id, 'chatbot_paused',
         jsonb_build_object('chatId', n.chat_id, 'messageId', n.id, 'because', n.source,
           'pausedUntil', to_char(to_timestamp(n.timestamp + s.chatbot_pause_minutes * 60) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS".000Z"')),
         ${nowMs}, case when s.webhook_enabled and s.webhook_url is not null then 'pending' else 'none' end
    from ${relation} n
    join instance_settings s on s.instance_id = n.instance_id
   where n.${PERSON} and n.chat_id ${ONE_TO_ONE}
     and s.chatbot_enabled and s.chatbot_pause_minutes > 0
     and n.timestamp + s.chatbot_pause_minutes * 60 > extract(epoch from now())
     and not exists (
       select 1 from messages h left join chats c on c.instance_id = h.instance_id and c.id = h.chat_id
        where h.instance_id = n.instance_id and h.chat_id = n.chat_id and h.${PERSON} and h.id <> n.id
          and h.timestamp >= n.timestamp - s.chatbot_pause_minutes * 60 and h.timestamp <= n.timestamp
          and h.timestamp > coalesce(c.bot_resumed_at, 0))
   order by n.instance_id, n.chat_id, n.timestamp`;

/** The bot is silent in a chat until `until`, because a person wrote there (`because`: from the phone, or a send marked as a person's) or a flow handed the chat to a person (`handoff`). */
export interface BotPause {
  chatId: string;
  /** The person's latest message (none for a flow's handoff), and when it was written or handed over (seconds since the epoch). */
  messageId?: string;
  since: number;
  until: number;
  because: (typeof PERSON_SOURCES)[number] | 'handoff';
}

/**
 * The chats (or this one) where a person wrote within the last `pauseMinutes`, or a flow handed the chat to
 * a person (`because: "handoff"`, no `messageId`), and nobody resumed the bot since: the bot does not answer
 * there until the pause is over.
 */
export async function botPauses(db: Db, instanceId: string, pauseMinutes: number, chatId?: string): Promise<BotPause[]> {
  if (pauseMinutes <= 0) return [];
  const { rows } = await db.raw(
    `select distinct on (chat_id) chat_id, id, source, timestamp from (
       select m.chat_id, m.id, m.source, m.timestamp, m.seq
         from messages m left join chats c on c.instance_id = m.instance_id and c.id = m.chat_id
        where m.instance_id = :instanceId and m.${PERSON} and m.chat_id ${ONE_TO_ONE} ${chatId ? 'and m.chat_id = :chatId' : ''}
          and m.timestamp > :since::bigint and m.timestamp > coalesce(c.bot_resumed_at, 0)
       union all
       select c.id, null, 'handoff', c.handoff_at, 0
         from chats c
        where c.instance_id = :instanceId and c.id ${ONE_TO_ONE} ${chatId ? 'and c.id = :chatId' : ''}
          and c.handoff_at > :since::bigint and c.handoff_at > coalesce(c.bot_resumed_at, 0)) p
      order by chat_id, timestamp desc, seq desc`,
    { instanceId, since: Math.floor(Date.now() / 1000) - pauseMinutes * 60, ...(chatId ? { chatId } : {}) },
  );
  return rows.map((r: { chat_id: string; id: string | null; source: BotPause['because']; timestamp: string }) => ({
    chatId: r.chat_id,
    ...(r.id ? { messageId: r.id } : {}),
    since: Number(r.timestamp),
    until: Number(r.timestamp) + pauseMinutes * 60,
    because: r.source,
  }));
}

/**
 * Lifts the bot's pause in a chat: a person's messages written until now no longer pause it (the
 * latest one's time counts if the phone's clock is ahead). False when the chat is unknown.
 */
export async function resumeBot(db: Db, instanceId: string, chatId: string): Promise<boolean> {
  const updated = await db('chats')
    .where({ instance_id: instanceId, id: chatId })
    .update({
      bot_resumed_at: db.raw(
        `greatest(extract(epoch from now())::bigint,
                  (select max(timestamp) from messages where instance_id = ? and chat_id = ? and ${PERSON}))`,
        [instanceId, chatId],
      ),
    });
  return updated > 0;
}

/**
 * Whether a person has the chat: wrote there (from the phone, or a send marked as a person's) or had it
 * handed over by a flow (`chats.handoff_at`) at `sinceSeconds` or later, and nobody resumed the bot since.
 * The bot does not answer there, and flow keywords start nothing.
 */
export async function personHasChat(trx: Knex.Transaction, instanceId: string, chatId: string, sinceSeconds: number): Promise<boolean> {
  const { rows } = await trx.raw(
    `select 1 from chats c
      where c.instance_id = :instanceId and c.id = :chatId
        and (c.handoff_at >= :since::bigint and c.handoff_at > coalesce(c.bot_resumed_at, 0)
             or exists (select 1 from messages m
                         where m.instance_id = c.instance_id and m.chat_id = c.id and m.${PERSON}
                           and m.timestamp >= :since::bigint and m.timestamp > coalesce(c.bot_resumed_at, 0)))`,
    { instanceId, chatId, since: sinceSeconds },
  );
  return rows.length > 0;
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
  /** The incoming message's text, if known: the bot does not answer its own words sent back. */
  incomingBody?: string;
  /** How long the bot stays silent in a chat after a person wrote there. */
  pauseMinutes: number;
  /** The most replies per chat per minute. */
  perMinute: number;
}

/** Queued: the reply's id, and whether a running drain of the outbox takes it (else the caller wakes the outbox). */
export type ReplyOutcome = { queued: string; drainActive: boolean } | { dropped: 'takeover' | 'echo' | 'limit' };

/**
 * Stores the bot's reply as a pending outgoing message for the outbox, unless
 * a person wrote in the chat since the message came in or within the pause
 * (and nobody resumed the bot since), the message is the bot's own text sent
 * back, or the bot has replied `perMinute` times in the chat within the last
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
    if (await personHasChat(trx, message.instanceId, message.chatId, sinceSeconds)) return { dropped: 'takeover' };
    // The bot never answers its own text: a contact's phone (or another bot) sending the bot's words back.
    if (reply.incomingBody !== undefined) {
      const own = await trx('messages')
        .where({ ...where, source: 'chatbot', body: reply.incomingBody })
        .where('created_at', '>', trx.raw(`now() - interval '1 day'`))
        .first('id');
      if (own) return { dropped: 'echo' };
    }
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
