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
import { nameOf } from '../db/contacts.js';
import { getInstance } from '../db/instances.js';
import { outgoing } from '../db/outgoing.js';
import { getSettings, SETTINGS_CHANNEL } from '../db/settings.js';
import { fillResponse, PatternCache, RuleMatcher } from '../domain/chatbotRules.js';
import { newMessageId } from '../domain/content.js';
import type { PgListener } from '../db/pgListener.js';
import { isOneToOne, phoneOf } from '../domain/recipients.js';
import type { IncomingMessage } from '../whatsapp/session.js';

/** A message older than this when it reaches the gateway (it waited while the instance was offline) gets no reply. */
/** What the reply workflow (workflows/chatbot.ts) is started with and hands to sendChatbotReply. */
export interface ChatbotReplyInput {
  instanceId: string;
  chatId: string;
  /** The incoming message answered (the workflow's id derives from it: one reply per message). */
  messageId: string;
  /** The rule that matched it. */
  ruleId: number;
  /** Seconds to wait before replying (the rule's `delay`). */
  delaySeconds: number;
  /** When the message came in (ms since the epoch). */
  receivedAt: number;
  /** The sender's push name, if WhatsApp gave one. */
  pushName?: string;
  /** The message's text: the bot does not answer its own words sent back (absent in replies started before it was kept). */
  body?: string;
}

export const MAX_AGE_SECONDS = 5 * 60;

/** Message types whose text (a caption, for media) the rules look at. */
const TEXT_TYPES = new Set(['chat', 'image', 'video', 'document']);

/** Whether the bot may answer this message at all: a person's fresh text in a 1:1 chat. */
export function answerable(message: IncomingMessage, nowSeconds = Date.now() / 1000): boolean {
  if (message.fromMe || message.offline || !message.body) return false;
  if (!isOneToOne(message.chatId)) return false;
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

/** How long the patterns of replaced rules stay compiled: a match under way may still use them. */
const RELEASE_AFTER_MS = 5_000;

/** The bot as a session worker runs it. */
export function createChatbot({ db, listener, logger, startReply }: ChatbotDeps) {
  const bots = new Map<string, Promise<Bot>>();
  /** Per instance: its compiled patterns, kept across rebuilds, and the builds under way. */
  const compiled = new Map<string, { cache: PatternCache; building: number; keep: ReadonlySet<string>; started: number; kept: number }>();

  const forget = (instanceId: string) => bots.delete(instanceId);
  const unsubscribe = [
    listener.on(CHATBOT_CHANNEL, forget),
    listener.on(SETTINGS_CHANNEL, forget),
    // Changes made while the listener was reconnecting were not heard.
    listener.onReconnect(() => bots.clear()),
  ];

  async function load(instanceId: string): Promise<Bot> {
    let patterns = compiled.get(instanceId);
    if (!patterns) compiled.set(instanceId, (patterns = { cache: new PatternCache(), building: 0, keep: new Set(), started: 0, kept: 0 }));
    // Numbered before reading: a later load reads later rules.
    const generation = ++patterns.started;
    patterns.building++;
    try {
      const [settings, rules] = await Promise.all([getSettings(db, instanceId), listRules(db, instanceId)]);
      // In slices: the sockets of this worker keep running while new patterns compile.
      const matcher = await RuleMatcher.build(rules, patterns.cache);
      if (matcher.skipped.length)
        logger.warn({ instanceId, rules: matcher.skipped }, 'chatbot rules with patterns RE2 refuses are skipped');
      // What the newest rules use (an older build that ends later does not decide).
      if (generation > patterns.kept) [patterns.keep, patterns.kept] = [matcher.patterns, generation];
      return { enabled: settings.chatbotEnabled, matcher };
    } finally {
      patterns.building--;
      const current = patterns;
      // Patterns no rule uses any more are freed once no build can be picking them up.
      setTimeout(() => current.building === 0 && current.cache.retain(current.keep), RELEASE_AFTER_MS).unref();
    }
  }

  function botOf(instanceId: string): Promise<Bot> {
    let bot = bots.get(instanceId);
    if (!bot) {
      const loading = load(instanceId);
      bots.set(instanceId, (bot = loading));
      loading.catch(() => bots.get(instanceId) === loading && bots.delete(instanceId));
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
          body: message.body,
        };
        starts.push(
          startReply(input).catch((err) => logger.error({ err, instanceId, messageId: message.id }, 'starting a chatbot reply failed')),
        );
      }
      await Promise.all(starts);
    },
    close(): void {
      for (const stop of unsubscribe) stop();
      bots.clear();
    },
  };
}

export type Chatbot = ReturnType<typeof createChatbot>;

export interface ChatbotActivityDeps {
  db: Db;
  /** Wakes the instance's outbox workflow (starting it if need be). */
  wakeOutbox: (instanceId: string) => Promise<void>;
}

export type ReplyOutcome = 'queued' | 'takeover' | 'echo' | 'limit' | 'disabled' | 'ruleGone';

export function createChatbotActivities({ db, wakeOutbox }: ChatbotActivityDeps) {
  return {
    /**
     * Hands the reply to the outbox, once (its idempotency key names the
     * incoming message), unless the bot or its rule was switched off
     * meanwhile, a person wrote in the chat, the message is the bot's own
     * text sent back, or the chat is at its limit.
     * The rule's current response is sent, with its placeholders filled.
     */
    async sendChatbotReply(input: ChatbotReplyInput): Promise<{ outcome: ReplyOutcome; replyId?: string }> {
      const { instanceId, chatId } = input;
      const [settings, rule, instance, name] = await Promise.all([
        getSettings(db, instanceId),
        getRule(db, instanceId, input.ruleId),
        getInstance(db, instanceId),
        nameOf(db, instanceId, chatId, input.pushName),
      ]);
      if (!settings.chatbotEnabled) return { outcome: 'disabled' };
      if (!rule || !rule.enabled) return { outcome: 'ruleGone' };
      const phone = phoneOf(chatId);
      const body = fillResponse(rule.response, {
        name,
        phone,
        now: new Date(),
        timeZone: settings.timezone,
      });
      const stored = await storeReply(db, {
        message: outgoing(instance, { instanceId, id: newMessageId(), chatId, content: { type: 'text', body }, source: 'chatbot' }),
        incomingId: input.messageId,
        incomingBody: input.body,
        receivedAt: input.receivedAt,
        ruleId: rule.id,
        pauseMinutes: settings.chatbotPauseMinutes,
        perMinute: settings.chatbotRepliesPerMinute,
      });
      if ('dropped' in stored) return { outcome: stored.dropped };
      if (!stored.drainActive) await wakeOutbox(instanceId);
      return { outcome: 'queued', replyId: stored.queued };
    },
  };
}

export type ChatbotActivities = ReturnType<typeof createChatbotActivities>;
