/**
 * Where a contact's message goes first, on the worker holding the session:
 * to its chat's live flow run (as a signal, in the order the messages came),
 * or, when it matches an enabled flow's keyword, to a new run. What no flow
 * takes is left for the chatbot's rules. An instance without flows costs
 * nothing here; with flows, one indexed query per batch of messages.
 */
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { WorkflowNotFoundError } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { nameOf } from '../db/contacts.js';
import { FLOWS_CHANNEL, listFlows, type StoredFlow } from '../db/flows.js';
import { cancelRuns, failRun, liveRunsOf, startRun } from '../db/flowRuns.js';
import { optOutForm } from '../db/optouts.js';
import type { PgListener } from '../db/pgListener.js';
import { getSettings, SETTINGS_CHANNEL } from '../db/settings.js';
import { patternRule, RuleMatcher } from '../domain/chatbotRules.js';
import type { FlowReply } from '../domain/flows.js';
import { isOneToOne, phoneOf } from '../domain/recipients.js';
import { keywordForm } from '../domain/textForm.js';
import type { IncomingMessage } from '../whatsapp/session.js';
import type { FlowRunInput } from './flows.js';
import { answerable } from './chatbot.js';

export interface FlowRouterDeps {
  db: Db;
  listener: PgListener;
  logger: Logger;
  /** Starts a run's workflow (again: nothing happens). */
  startRun: (input: FlowRunInput) => Promise<void>;
  /** Hands a message to a run's workflow. */
  signalReply: (instanceId: string, runId: string, reply: FlowReply) => Promise<void>;
  /** Tells a run's workflow that a person wrote in its chat (`takeover`), or that it was cancelled. */
  signalRun: (instanceId: string, runId: string, signal: 'takeover' | 'cancel') => Promise<void>;
}

/** An instance's flows and the settings the router needs, cached until a change to either is announced. */
interface Triggers {
  flows: Map<number, StoredFlow>;
  /** The enabled keyword flows' keywords, as chatbot rules whose id is the flow's. */
  matcher: RuleMatcher;
  /** Its opt-out keywords, as `keywordForm` has them: one ends the chat's run. */
  optOutKeywords: Set<string>;
  /** How long a person's message (or a handoff) keeps keywords from starting runs in a chat. */
  pauseMinutes: number;
}

/** A run started by a message has an id that message names: seen again, it starts nothing new. */
export const keywordRunId = (instanceId: string, messageId: string) => {
  const hex = createHash('sha256').update(`${instanceId}\n${messageId}`).digest('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
};

/** How long a message Temporal could not take is tried again. */
const RETRY_FOR_MS = 15 * 60_000;

/** What a contact may answer with: anything they write or send, not a reaction to one of the run's messages. */
const isAnswer = (m: IncomingMessage) => !m.fromMe && isOneToOne(m.chatId) && m.type !== 'reaction';
/** A person writing in the chat from the account's phone (the gateway's own sends are stored before they come back). */
const isPerson = (m: IncomingMessage) => m.fromMe && isOneToOne(m.chatId) && m.type !== 'reaction';

export function createFlowRouter({ db, listener, logger, startRun: startWorkflow, signalReply, signalRun }: FlowRouterDeps) {
  const triggers = new Map<string, Promise<Triggers>>();
  const forget = (instanceId: string) => {
    const old = triggers.get(instanceId);
    triggers.delete(instanceId);
    void old?.then(
      (t) => t.matcher.close(),
      () => {},
    );
  };
  const unsubscribe = [
    listener.on(FLOWS_CHANNEL, forget),
    listener.on(SETTINGS_CHANNEL, forget),
    // Changes made while the listener was reconnecting were not heard.
    listener.onReconnect(() => triggers.clear()),
  ];

  async function load(instanceId: string): Promise<Triggers> {
    const [flows, settings] = await Promise.all([listFlows(db, instanceId), getSettings(db, instanceId)]);
    const keywords = flows.flatMap((f) =>
      f.enabled && f.trigger.type === 'keyword' ? [patternRule(f.id, f.trigger.match_type, f.trigger.text)] : [],
    );
    return {
      flows: new Map(flows.map((f) => [f.id, f])),
      matcher: new RuleMatcher(keywords),
      optOutKeywords: new Set(settings.optOutKeywords.map(keywordForm)),
      pauseMinutes: settings.chatbotPauseMinutes,
    };
  }

  function triggersOf(instanceId: string): Promise<Triggers> {
    let loaded = triggers.get(instanceId);
    if (!loaded) {
      triggers.set(instanceId, (loaded = load(instanceId)));
      loaded.catch(() => triggers.get(instanceId) === loaded && triggers.delete(instanceId));
    }
    return loaded;
  }

  /** Per run: the messages Temporal could not take yet, retried in order in the background. */
  const retrying = new Map<string, Promise<void>>();

  /**
   * Hands a message to its run. False when the run's workflow is gone (never
   * started, or ended without saying so): the run is marked failed and the
   * chat is free. When Temporal cannot be reached, the message (and every
   * later one of that run, behind it) is retried in the background until
   * Temporal takes it, for up to RETRY_FOR_MS: the session's other messages
   * are stored meanwhile.
   */
  async function deliver(instanceId: string, runId: string, reply: FlowReply): Promise<boolean> {
    const queued = retrying.get(runId);
    if (!queued) {
      try {
        await signalReply(instanceId, runId, reply);
        return true;
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          logger.warn({ instanceId, runId }, 'a flow run had no workflow: marked failed');
          await failRun(db, instanceId, runId, 'its workflow was not found');
          return false;
        }
        logger.warn({ err, instanceId, runId }, 'handing a message to a flow run failed: retrying');
      }
    }
    const next = (queued ?? Promise.resolve()).then(() => retry(instanceId, runId, reply));
    retrying.set(runId, next);
    void next.finally(() => retrying.get(runId) === next && retrying.delete(runId));
    return true;
  }

  async function retry(instanceId: string, runId: string, reply: FlowReply): Promise<void> {
    const since = Date.now();
    for (let delay = 1_000; ; delay = Math.min(delay * 2, 30_000)) {
      try {
        return await signalReply(instanceId, runId, reply);
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) return failRun(db, instanceId, runId, 'its workflow was not found');
        if (Date.now() - since > RETRY_FOR_MS)
          return logger.error({ err, instanceId, runId, messageId: reply.id }, 'a message never reached its flow run');
      }
      await sleep(delay);
    }
  }

  /** Starts `flow` for the message's chat; the run's id, or undefined when the chat is paused for a person. */
  async function start(instanceId: string, flow: StoredFlow, message: IncomingMessage, pauseMinutes: number): Promise<string | undefined> {
    const runId = keywordRunId(instanceId, message.id);

    const phone = phoneOf(message.from || message.chatId);
    const vars = { name: await nameOf(db, instanceId, message.chatId, message.pushName), phone };
    const outcome = await startRun(db, {
      runId,
      instanceId,
      flow,
      chatId: message.chatId,
      vars,
      trigger: { type: 'keyword', messageId: message.id, body: message.body },
      pauseMinutes,
    });
    if ('paused' in outcome) return undefined;
    if ('live' in outcome) return outcome.live;
    // Started now, or before (the message seen again after a crash): its workflow is started, once.
    const run = 'started' in outcome ? outcome.started : outcome.exists;
    if (run.status !== 'running' && run.status !== 'waiting') return runId;
    await startWorkflow({
      instanceId,
      runId,
      flowId: flow.id,
      chatId: message.chatId,
      steps: flow.steps,
      vars: run.vars,
      history: run.history,
    });
    return runId;
  }

  /** A chat's messages, in order: to its live run, or starting one on a keyword. The ids of the messages taken. */
  async function routeChat(
    instanceId: string,
    chatMessages: IncomingMessage[],
    live: string | undefined,
    { flows, matcher, pauseMinutes }: Triggers,
  ): Promise<string[]> {
    const taken: string[] = [];
    let runId = live;
    for (const message of chatMessages) {
      if (runId) {
        const reply = { id: message.id, body: message.body ?? '', type: message.type, at: message.timestamp * 1000 };
        if (await deliver(instanceId, runId, reply)) {
          taken.push(message.id);
          continue;
        }
        runId = undefined;
      }
      if (!answerable(message)) continue;
      const flowId = matcher.match(message.body)?.id;
      const flow = flowId !== undefined ? flows.get(flowId) : undefined;
      if (!flow) continue;
      runId = await start(instanceId, flow, message, pauseMinutes);
      if (runId) taken.push(message.id);
    }
    return taken;
  }

  return {
    /**
     * Gives each new incoming message to its chat's flow run, starting runs
     * on keywords; returns the messages no flow took (for the chatbot). Called
     * before the messages are stored: a crash in between gives them again,
     * and a run takes a message once.
     */
    async route(instanceId: string, messages: IncomingMessage[]): Promise<IncomingMessage[]> {
      const candidates = messages.filter((m) => isAnswer(m) || isPerson(m));
      if (candidates.length === 0) return messages;
      const loaded = await triggersOf(instanceId);
      // No flows, so no runs (deleting a flow cancels its runs).
      if (loaded.flows.size === 0) return messages;
      const byChat = new Map<string, IncomingMessage[]>();
      for (const m of candidates) byChat.set(m.chatId, [...(byChat.get(m.chatId) ?? []), m]);
      const live = await liveRunsOf(db, instanceId, [...byChat.keys()]);
      const taken = new Set<string>();
      await Promise.all(
        [...byChat].map(async ([chatId, chatMessages]) => {
          const runId = live.get(chatId)?.runId;
          try {
            // A person took the chat over: the run hands it to them, and later messages are theirs.
            if (runId && chatMessages.some(isPerson)) return await signalRun(instanceId, runId, 'takeover');
            const answers = chatMessages.filter(isAnswer);
            // The contact opted out: the run ends, and the keyword is no answer to it.
            if (runId && answers.some((m) => loaded.optOutKeywords.has(optOutForm(m) ?? ''))) {
              if ((await cancelRuns(db, instanceId, { chatId }, 'the contact opted out')).length)
                await signalRun(instanceId, runId, 'cancel');
              return;
            }
            for (const id of await routeChat(instanceId, answers, runId, loaded)) taken.add(id);
          } catch (err) {
            // Not left to the chatbot either: a reply meant for a run would get the bot's answer.
            for (const m of chatMessages) taken.add(m.id);
            logger.error({ err, instanceId, chatId }, 'handing messages to a flow run failed');
          }
        }),
      );
      return taken.size === 0 ? messages : messages.filter((m) => !taken.has(m.id));
    },
    close(): void {
      for (const stop of unsubscribe) stop();
      for (const loaded of triggers.values())
        void loaded.then(
          (t) => t.matcher.close(),
          () => {},
        );
      triggers.clear();
    },
  };
}

export type FlowRouter = ReturnType<typeof createFlowRouter>;
