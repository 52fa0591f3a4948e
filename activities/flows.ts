/**
 * What a conversation flow's run (workflows/flow.ts) does outside itself:
 * sending a step's message through the outbox, writing the run's state,
 * matching an answer or a value against cases (RE2, as the chatbot
 * matches), and calling a shop's system. Templates are filled here, where
 * the clock and the instance's time zone are.
 */
import type { Logger } from 'pino';
import { request } from 'undici';
import type { Db } from '../db/knex.js';
import { getInstance } from '../db/instances.js';
import { insertOutgoing, outgoing } from '../db/outgoing.js';
import { saveRun, type RunState } from '../db/flowRuns.js';
import { getSettings } from '../db/settings.js';
import { clockTime, patternRule, RuleMatcher } from '../domain/chatbotRules.js';
import { newMessageId, type StoredContent } from '../domain/content.js';
import {
  fillBody,
  fillTemplate,
  MAX_HISTORY,
  type Case,
  type FlowHistoryEntry,
  type FlowReply,
  type FlowRunStatus,
  type SendMedia,
  type Step,
} from '../domain/flows.js';
import { describeFailure, guardedAgent, readAtMost } from './guardedHttp.js';

/** How long a flow's `http` step waits for the whole answer. */
export const FLOW_HTTP_TIMEOUT_MS = 10_000;
/** The most of an answer kept (larger answers fail the step: they would not fit a run's state). */
export const FLOW_HTTP_MAX_BYTES = 64 * 1024;

/** What a `send` step (or an `ask`'s question, a handoff's words) sends: a text, or media by URL. */
export type FlowMessage = { text: string } | { media: { kind: SendMedia; url: string; caption?: string; filename?: string } };

export interface FlowSendInput {
  instanceId: string;
  runId: string;
  chatId: string;
  /** The run's message count: with the run id, the message's idempotency key (a retry sends nothing twice). */
  n: number;
  step: string;
  message: FlowMessage;
  /** The run's state to write with it (without this send's entry, which is added here). */
  state: RunState;
}

/** What a run's workflow (workflows/flow.ts) is started with. */
export interface FlowRunInput {
  instanceId: string;
  runId: string;
  flowId: number;
  chatId: string;
  /** The flow's steps as they were when the run started: a flow edited meanwhile does not change a run under way. */
  steps: Step[];
  vars: Record<string, unknown>;
  /** What the run's row holds already when it starts (the message that started it). */
  history?: FlowHistoryEntry[];
  /** Where a run that continued as new goes on from. */
  carried?: {
    step: string;
    seq: number;
    sends: number;
    history: FlowHistoryEntry[];
    inbox: FlowReply[];
    seen: string[];
  };
}

export type Stopped = { stopped: FlowRunStatus };

export interface FlowHttpInput {
  method: 'GET' | 'POST';
  url: string;
  body?: unknown;
  vars: Record<string, unknown>;
}

export type FlowHttpResult = { ok: true; status: number; data: unknown } | { ok: false; error: string };

export interface FlowActivityDeps {
  db: Db;
  logger: Logger;
  /** Wakes the instance's outbox workflow (starting it if need be). */
  wakeOutbox: (instanceId: string) => Promise<void>;
  /** Whether `http` steps may call private addresses (FLOW_HTTP_PRIVATE_URLS=allow). */
  allowPrivate: boolean;
}

/** The values a template may name besides the run's variables: `{time}`, HH:mm in the instance's time zone. */
async function templateValues(db: Db, instanceId: string, vars: Record<string, unknown>): Promise<Record<string, unknown>> {
  const { timezone } = await getSettings(db, instanceId);
  return { time: clockTime(new Date(), timezone), ...vars };
}

/** The stored content of a step's message, its templates filled. */
function contentOf(message: FlowMessage, values: Record<string, unknown>): StoredContent {
  if ('text' in message) return { type: 'text', body: fillTemplate(message.text, values) };
  const { kind, url, caption, filename } = message.media;
  const media = { url: fillTemplate(url, values, encodeURIComponent) };
  const filled = caption ? fillTemplate(caption, values) : undefined;
  switch (kind) {
    case 'audio':
      return { type: 'audio', media };
    case 'document':
      return {
        type: 'document',
        media,
        filename: filename
          ? fillTemplate(filename, values)
          : decodeURIComponent(new URL(media.url).pathname.split('/').pop() || 'document'),
        ...(filled ? { caption: filled } : {}),
      };
    default:
      return { type: kind, media, ...(filled ? { caption: filled } : {}) };
  }
}

/** What the history says was sent. */
const shownSent = (content: StoredContent) =>
  content.type === 'text' ? content.body : `[${content.type}] ${'caption' in content && content.caption ? content.caption : ''}`.trim();

export function createFlowActivities({ db, logger, wakeOutbox, allowPrivate }: FlowActivityDeps) {
  const agent = guardedAgent({
    denyPrivate: !allowPrivate && { doing: 'call', setting: 'set FLOW_HTTP_PRIVATE_URLS=allow to allow it' },
    timeoutMs: FLOW_HTTP_TIMEOUT_MS,
  });

  return {
    /**
     * Writes the run's state with the message's entry and hands the message
     * to the outbox, once (its idempotency key names the run and the
     * message's number). A run ended meanwhile from outside sends nothing.
     */
    async flowSend(input: FlowSendInput): Promise<Stopped | { entry: FlowHistoryEntry; messageId: string }> {
      const { instanceId, runId, chatId } = input;
      const [values, instance] = await Promise.all([templateValues(db, instanceId, input.state.vars), getInstance(db, instanceId)]);
      const content = contentOf(input.message, values);
      const entry: FlowHistoryEntry = { step: input.step, at: new Date().toISOString(), sent: shownSent(content) };
      const history = [...input.state.history, entry].slice(-MAX_HISTORY);
      const stopped = await saveRun(db, instanceId, runId, { ...input.state, history });
      if (stopped) return { stopped };
      const inserted = await insertOutgoing(
        db,
        outgoing(instance, { instanceId, id: newMessageId(), chatId, content, idempotencyKey: `flow ${runId} ${input.n}`, source: 'flow' }),
      );
      if (!inserted.drainActive) await wakeOutbox(instanceId);
      return { entry, messageId: inserted.row.id };
    },

    /** Writes the run's state (ending it, with its event, when its status says so); `stopped` when it was ended from outside. */
    async flowSave(input: { instanceId: string; runId: string; state: RunState }): Promise<Partial<Stopped>> {
      const stopped = await saveRun(db, input.instanceId, input.runId, input.state);
      return stopped ? { stopped } : {};
    },

    /**
     * Which case a text matches first (the chatbot's matching: case, accents
     * and the Turkish i ignored; regexes on RE2), and whether it passes
     * `regex`. `template`: the text is filled from the variables first.
     */
    async flowMatch(input: {
      instanceId: string;
      text: string;
      template?: boolean;
      vars?: Record<string, unknown>;
      cases?: Case[];
      regex?: string;
    }): Promise<{ value: string; valid: boolean; caseIndex?: number }> {
      const value = input.template ? fillTemplate(input.text, await templateValues(db, input.instanceId, input.vars ?? {})) : input.text;
      const firstMatch = (cases: Array<Pick<Case, 'match_type' | 'value'>>): number | undefined => {
        const matcher = new RuleMatcher(cases.map((c, i) => patternRule(i, c.match_type, c.value, i)));
        try {
          return matcher.match(value)?.id;
        } finally {
          matcher.close();
        }
      };
      if (input.regex && firstMatch([{ match_type: 'regex', value: input.regex }]) === undefined) return { value, valid: false };
      if (!input.cases?.length) return { value, valid: true };
      const caseIndex = firstMatch(input.cases);
      return caseIndex === undefined ? { value, valid: false } : { value, valid: true, caseIndex };
    },

    /**
     * An `http` step's call: the URL (values URL-encoded) and the JSON body
     * filled from the variables, within 10 s, never to a private address
     * unless allowed. The JSON answer (or its text) comes back; a failure is
     * an answer too (`ok: false`), for the flow to go to `onError`.
     */
    async flowHttp(input: FlowHttpInput): Promise<FlowHttpResult> {
      let url: string;
      try {
        url = new URL(fillTemplate(input.url, input.vars, encodeURIComponent)).toString();
      } catch {
        return { ok: false, error: 'the URL is not valid once filled' };
      }
      const body = input.method === 'POST' && input.body !== undefined ? JSON.stringify(fillBody(input.body, input.vars)) : undefined;
      const signal = AbortSignal.timeout(FLOW_HTTP_TIMEOUT_MS);
      try {
        const response = await request(url, {
          method: input.method,
          headers: {
            accept: 'application/json',
            'user-agent': 'wa-gateway-flows/0.1',
            ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          },
          body,
          signal,
          dispatcher: agent,
          maxRedirections: 0,
        });
        const { bytes, cut } = await readAtMost(response.body, FLOW_HTTP_MAX_BYTES);
        if (response.statusCode < 200 || response.statusCode >= 300)
          return { ok: false, error: `HTTP ${response.statusCode}${bytes.length ? `: ${bytes.toString('utf8').slice(0, 200)}` : ''}` };
        if (cut) return { ok: false, error: `the answer is larger than ${FLOW_HTTP_MAX_BYTES} bytes` };
        const text = bytes.toString('utf8');
        let data: unknown = text;
        try {
          data = text ? JSON.parse(text) : null;
        } catch {
          // Not JSON: kept as text.
        }
        return { ok: true, status: response.statusCode, data };
      } catch (err) {
        const error = describeFailure(err, signal, FLOW_HTTP_TIMEOUT_MS);
        logger.debug({ err, url }, 'a flow http step failed');
        return { ok: false, error };
      }
    },
  };
}

export type FlowActivities = ReturnType<typeof createFlowActivities>;
