import {
  condition,
  continueAsNew,
  defineSignal,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  upsertMemo,
  workflowInfo,
} from '@temporalio/workflow';
import type { FlowActivities, FlowMessage, FlowRunInput } from '../activities/flows.js';
import type { RunState } from '../db/flowRuns.js';
import { END, MAX_HISTORY, type FlowHistoryEntry, type FlowReply, type FlowRunStatus } from '../domain/flows.js';

/** A contact's message in the run's chat (activities/flowRouter.ts sends them in the order they came). */
export const flowReplySignal = defineSignal<[FlowReply]>('reply');
/** The run was cancelled (its row says so already): stop. */
export const cancelFlowSignal = defineSignal('cancel');
/** A person wrote in the chat (from the phone): the run hands the chat over and ends. */
export const takeoverFlowSignal = defineSignal('takeover');

/** How long an `ask` waits for its answer when the step gives no `timeout`: a day. */
export const DEFAULT_ASK_SECONDS = 86_400;
/** How many wrong answers an `ask` asks again after, when its `validate` gives no `maxRetries`. */
export const DEFAULT_MAX_RETRIES = 2;
/** Message ids remembered, so a message signalled twice (seen again after a crash) is taken once. */
const SEEN_KEPT = 100;
/** Messages kept waiting for the run to take them. */
const INBOX_KEPT = 50;

/**
 * A conversation flow's run for one chat, `flow-{instance}-{runId}`: it walks
 * the flow's steps, hands each message to the outbox, waits for the contact's
 * answers (signals) and for time on durable timers, and writes its state to
 * the run's row at every step it waits or ends on (db/flowRuns.ts). A worker
 * killed, Temporal restarted or the session moved to another worker changes
 * nothing: the run goes on from its history, every message is sent once
 * (keyed by the run and its count), and timers fire at their time.
 */
export async function flowRunWorkflow(input: FlowRunInput): Promise<FlowRunStatus> {
  const { instanceId, runId, chatId, steps } = input;
  // A few statements each, run by the worker that runs the workflow: no round trip through a task queue.
  const { flowSend, flowSave, flowMatch } = proxyLocalActivities<FlowActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '30 s' },
  });
  // A call to the shop's system: its failures are answers (onError); only a lost worker makes it try again.
  const { flowHttp } = proxyActivities<FlowActivities>({
    startToCloseTimeout: '30 s',
    retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumAttempts: 5 },
  });

  const byId = new Map(steps.map((step, i) => [step.id, { step, i }]));
  const vars: Record<string, unknown> = { ...input.vars };
  const history: FlowHistoryEntry[] = [...(input.carried?.history ?? input.history ?? [])];
  const inbox: FlowReply[] = [...(input.carried?.inbox ?? [])];
  const seen: string[] = [...(input.carried?.seen ?? [])];
  let seq = input.carried?.seq ?? 0;
  let sends = input.carried?.sends ?? 0;
  let cancelled = false;
  let takenOver = false;
  /** The step the run is at. */
  let at = input.carried?.step ?? steps[0]!.id;

  const now = () => new Date().toISOString();
  const record = (entry: FlowHistoryEntry) => {
    history.push(entry);
    if (history.length > MAX_HISTORY) history.splice(0, history.length - MAX_HISTORY);
  };
  const state = (status: FlowRunStatus, step: string | null, reason?: string): RunState => ({
    seq: ++seq,
    status,
    step,
    vars,
    history,
    ...(reason ? { reason } : {}),
  });
  /** The step after `step` when it names none: the one listed after it, or the end. */
  const after = (id: string) => {
    const { step, i } = byId.get(id)!;
    return step.next ?? steps[i + 1]?.id ?? END;
  };
  /** Messages written during a wait that does not listen, or left when the run ends: kept in the history, answering nothing. */
  const setAside = (step: string) => {
    for (const reply of inbox.splice(0))
      record({ step, at: new Date(reply.at).toISOString(), received: reply.body, note: 'not an answer: the run was not waiting for one' });
  };

  let stoppedAs: FlowRunStatus | undefined;
  const save = async (status: FlowRunStatus, step: string | null, reason?: string): Promise<boolean> => {
    upsertMemo({ status, step });
    const result = await flowSave({ instanceId, runId, state: state(status, step, reason) });
    stoppedAs = result.stopped;
    return !stoppedAs;
  };
  const send = async (step: string, message: FlowMessage, status: FlowRunStatus): Promise<boolean> => {
    upsertMemo({ status, step });
    const result = await flowSend({ instanceId, runId, chatId, n: ++sends, step, message, state: state(status, step) });
    if ('stopped' in result) {
      stoppedAs = result.stopped;
      return false;
    }
    record(result.entry);
    return true;
  };
  const finish = async (status: FlowRunStatus, step: string | null, reason?: string): Promise<FlowRunStatus> => {
    setAside(step ?? END);
    return (await save(status, step, reason)) ? status : stoppedAs!;
  };

  setHandler(flowReplySignal, (reply) => {
    if (seen.includes(reply.id)) return;
    seen.push(reply.id);
    if (seen.length > SEEN_KEPT) seen.shift();
    inbox.push(reply);
    // A contact writing far faster than the run asks: the oldest go to the history unanswered.
    if (inbox.length > INBOX_KEPT) {
      const dropped = inbox.shift()!;
      record({
        step: at,
        at: new Date(dropped.at).toISOString(),
        received: dropped.body,
        note: 'not an answer: too many messages at once',
      });
    }
  });
  setHandler(cancelFlowSignal, () => void (cancelled = true));
  setHandler(takeoverFlowSignal, () => void (takenOver = true));
  /** Whether the run must stop where it is: cancelled, or a person took the chat over. */
  const interrupted = () => cancelled || takenOver;

  for (;;) {
    if (cancelled) return 'cancelled';
    if (takenOver) return finish('handoff', at === END ? null : at, 'a person wrote in the chat');
    if (at === END) return finish('completed', null);
    // A long run starts a fresh history now and then, between steps (its state carried over).
    if (workflowInfo().continueAsNewSuggested || workflowInfo().historyLength > 5_000)
      return continueAsNew<typeof flowRunWorkflow>({ ...input, vars, carried: { step: at, seq, sends, history, inbox, seen } });

    const { step } = byId.get(at)!;
    switch (step.type) {
      case 'send': {
        const message: FlowMessage = step.media ? { media: step.media } : { text: step.text! };
        if (!(await send(step.id, message, 'running'))) return stoppedAs!;
        at = after(step.id);
        break;
      }

      case 'ask': {
        // Messages that came while the run was busy (sending, calling the shop) are taken in order: none is lost.
        const timeout = step.timeout ?? DEFAULT_ASK_SECONDS;
        const maxRetries = step.validate?.maxRetries ?? DEFAULT_MAX_RETRIES;
        let question = step.text;
        let wrong = 0;
        let next: string | undefined;
        while (next === undefined) {
          if (!(await send(step.id, { text: question }, 'waiting'))) return stoppedAs!;
          const answered = await condition(() => interrupted() || inbox.length > 0, timeout * 1_000, {
            summary: `waits up to ${timeout} s for an answer`,
          });
          if (interrupted()) break;
          if (!answered) {
            record({ step: step.id, at: now(), note: `no answer within ${timeout} s` });
            next = step.onTimeout ?? END;
            break;
          }
          const reply = inbox.shift()!;
          // Without a pattern or choices, any answer will do: no activity to ask.
          const judged: { valid: boolean; caseIndex?: number } =
            step.validate || step.choices?.length
              ? await flowMatch({ instanceId, text: reply.body, regex: step.validate?.regex, cases: step.choices })
              : { valid: true };
          record({
            step: step.id,
            at: new Date(reply.at).toISOString(),
            received: reply.body,
            ...(judged.valid ? {} : { note: 'not a valid answer' }),
          });
          if (judged.valid) {
            if (step.save) vars[step.save] = reply.body;
            next = judged.caseIndex !== undefined ? step.choices![judged.caseIndex]!.next : after(step.id);
          } else if (++wrong > maxRetries) {
            next = step.validate?.onInvalid ?? END;
          } else {
            question = step.validate?.retryText ?? step.text;
          }
        }
        if (next !== undefined) at = next;
        break;
      }

      case 'wait': {
        if (!(await save('waiting', step.id))) return stoppedAs!;
        const woken = await condition(() => interrupted() || (!!step.cancelOnReply && inbox.length > 0), step.seconds * 1_000, {
          summary: `waits ${step.seconds} s${step.cancelOnReply ? ', or until the contact writes' : ''}`,
        });
        if (interrupted()) break;
        if (woken) {
          const reply = inbox.shift()!;
          record({ step: step.id, at: new Date(reply.at).toISOString(), received: reply.body, note: 'the contact wrote: the wait ended' });
          at = step.onReply ?? after(step.id);
        } else {
          // Written during a wait that does not listen: no answer to what comes after it.
          setAside(step.id);
          at = after(step.id);
        }
        break;
      }

      case 'branch': {
        const judged = await flowMatch({ instanceId, text: step.on, template: true, vars, cases: step.cases });
        const next = judged.caseIndex !== undefined ? step.cases[judged.caseIndex]!.next : (step.default ?? after(step.id));
        record({ step: step.id, at: now(), note: `"${judged.value.slice(0, 200)}" → ${next}` });
        at = next;
        break;
      }

      case 'http': {
        if (!(await save('running', step.id))) return stoppedAs!;
        const result = await flowHttp({ method: step.method, url: step.url, body: step.body, vars });
        if (interrupted()) break;
        if (result.ok) {
          if (step.save) vars[step.save] = result.data;
          record({ step: step.id, at: now(), note: `HTTP ${result.status}` });
          at = after(step.id);
        } else {
          record({ step: step.id, at: now(), note: result.error });
          if (!step.onError) return finish('failed', step.id, `${step.id}: ${result.error}`);
          at = step.onError;
        }
        break;
      }

      case 'handoff':
        if (step.text && !(await send(step.id, { text: step.text }, 'running'))) return stoppedAs!;
        return finish('handoff', step.id);

      case 'end':
        return finish('completed', step.id);
    }
  }
}
