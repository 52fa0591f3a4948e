/**
 * The chatbot. On the worker holding a session, `createChatbot` looks at each
 * new incoming message, finds the first rule it matches (rules are cached per
 * instance and follow every change at once, by NOTIFY) and starts the reply's
 * workflow (workflows/chatbot.ts). When its delay is over, the workflow runs
 * `sendChatbotReply` on any general worker, which decides from Postgres
 * whether the reply still goes out and hands it to the outbox.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { CHATBOT_CHANNEL, getRule, listRules, storeReply } from '../db/chatbot.js';
import { getInstance } from '../db/instances.js';
import { outgoing } from '../db/outgoing.js';
import { getSettings, SETTINGS_CHANNEL } from '../db/settings.js';
import { fillResponse, RuleMatcher } from '../lib/chatbotRules.js';
import { newMessageId } from '../lib/content.js';
import type { PgListener } from '../lib/pgListener.js';
import { phoneOf } from '../lib/recipients.js';
import type { IncomingMessage } from '../whatsapp/session.js';
import type { ChatbotReplyInput } from '../workflows/chatbot.js';

/** A message older than this when it reaches the gateway (it waited while the instance was offline) gets no reply. */
export const MAX_AGE_SECONDS = 5 * 60;

/** Message types whose text (a caption, for media) the rules look at. */
const TEXT_TYPES = new Set(['chat', 'image', 'video', 'document']);

/** Whether the bot may answer this message at all: a person's fresh text in a 1:1 chat. */
export function answerable(message: IncomingMessage, nowSeconds = Date.now() / 1000): boolean {
  if (message.fromMe || message.offline || !message.body) return false;
  // 1:1 chats only: not groups (@g.us), status broadcasts (status@broadcast), newsletters, ...
  if (!/@(s\.whatsapp\.net|lid)$/.test(message.chatId)) return false;
  if (!TEXT_TYPES.has(message.type)) return false;
  return nowSeconds - message.timestamp <= MAX_AGE_SECONDS;
}

interface Bot {
  enabled: boolean;
  matcher: RuleMatcher;
}

export interface ChatbotDeps {
  db: Db;
  listener: PgListener;
  logger: Logger;
  /** Starts a reply's workflow; false if that message's reply was started before. */
  startReply: (input: ChatbotReplyInput) => Promise<boolean>;
}

/** The bot as a session worker runs it. */
export function createChatbot({ db, listener, logger, startReply }: ChatbotDeps) {
  const bots = new Map<string, Promise<Bot>>();

  const forget = (instanceId: string) => {
    const bot = bots.get(instanceId);
    if (!bot) return;
    bots.delete(instanceId);
    // A match under way may still hold the old rules; their memory goes a little later.
    bot.then(
      (b) => setTimeout(() => b.matcher.close(), 5_000).unref(),
      () => {},
    );
  };
  const unsubscribe = [
    listener.on(CHATBOT_CHANNEL, forget),
    listener.on(SETTINGS_CHANNEL, forget),
    // Changes made while the listener was reconnecting were not heard.
    listener.onReconnect(() => [...bots.keys()].forEach(forget)),
  ];

  function botOf(instanceId: string): Promise<Bot> {
    let bot = bots.get(instanceId);
    if (!bot) {
      bot = (async () => {
        const [settings, rules] = await Promise.all([getSettings(db, instanceId), listRules(db, instanceId)]);
        const matcher = new RuleMatcher(rules);
        if (matcher.skipped.length)
          logger.warn({ instanceId, rules: matcher.skipped }, 'chatbot rules with patterns RE2 refuses are skipped');
        return { enabled: settings.chatbotEnabled, matcher };
      })();
      bots.set(instanceId, bot);
      bot.catch(() => bots.get(instanceId) === bot && bots.delete(instanceId));
    }
    return bot;
  }

  return {
    /**
     * Starts the replies to these new incoming messages (called before they
     * are stored: a crash in between leaves a reply started, and the message
     * seen again cannot start a second one).
     */
    async consider(instanceId: string, messages: IncomingMessage[]): Promise<void> {
      const candidates = messages.filter((m) => answerable(m));
      if (candidates.length === 0) return;
      const bot = await botOf(instanceId);
      if (!bot.enabled) return;
      const starts: Array<Promise<unknown>> = [];
      for (const message of candidates) {
        const rule = bot.matcher.match(message.body);
        if (!rule) continue;
        const input: ChatbotReplyInput = {
          instanceId,
          chatId: message.chatId,
          messageId: message.id,
          ruleId: rule.id,
          delaySeconds: rule.delay,
          receivedAt: Date.now(),
          ...(message.pushName ? { pushName: message.pushName } : {}),
        };
        starts.push(
          startReply(input).catch((err) => logger.error({ err, instanceId, messageId: message.id }, 'starting a chatbot reply failed')),
        );
      }
      await Promise.all(starts);
    },
    close(): void {
      for (const stop of unsubscribe) stop();
      for (const instanceId of [...bots.keys()]) forget(instanceId);
    },
  };
}

export type Chatbot = ReturnType<typeof createChatbot>;

export interface ChatbotActivityDeps {
  db: Db;
  /** Wakes the instance's outbox workflow (starting it if need be). */
  wakeOutbox: (instanceId: string) => Promise<void>;
}

export type ReplyOutcome = 'queued' | 'takeover' | 'limit' | 'disabled' | 'ruleGone';

export function createChatbotActivities({ db, wakeOutbox }: ChatbotActivityDeps) {
  return {
    /**
     * Hands the reply to the outbox, once (its idempotency key names the
     * incoming message), unless the bot or its rule was switched off
     * meanwhile, a person wrote in the chat, or the chat is at its limit.
     * The rule's current response is sent, with its placeholders filled.
     */
    async sendChatbotReply(input: ChatbotReplyInput): Promise<{ outcome: ReplyOutcome; replyId?: string }> {
      const { instanceId, chatId } = input;
      const [settings, rule, instance, contact] = await Promise.all([
        getSettings(db, instanceId),
        getRule(db, instanceId, input.ruleId),
        getInstance(db, instanceId),
        db('contacts').where({ instance_id: instanceId, id: chatId }).first('name', 'notify'),
      ]);
      if (!settings.chatbotEnabled) return { outcome: 'disabled' };
      if (!rule || !rule.enabled) return { outcome: 'ruleGone' };
      const phone = phoneOf(chatId);
      const body = fillResponse(rule.response, {
        name: contact?.name || contact?.notify || input.pushName || phone,
        phone,
        now: new Date(),
        timeZone: settings.timezone,
      });
      const stored = await storeReply(db, {
        message: outgoing(instance, { instanceId, id: newMessageId(), chatId, content: { type: 'text', body }, source: 'chatbot' }),
        incomingId: input.messageId,
        receivedAt: input.receivedAt,
        ruleId: rule.id,
        pauseMinutes: settings.chatbotPauseMinutes,
        perMinute: settings.chatbotRepliesPerMinute,
      });
      if ('dropped' in stored) return { outcome: stored.dropped };
      await wakeOutbox(instanceId);
      return { outcome: 'queued', replyId: stored.queued };
    },
  };
}

export type ChatbotActivities = ReturnType<typeof createChatbotActivities>;
