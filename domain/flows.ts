/**
 * Conversation flows (issue 34): a flow is a list of steps a run walks
 * through for one chat, sending, asking and waiting, branching on what the
 * contact said or a system answered. This file holds a flow's shape, its
 * checks as a whole (what a save refuses, naming the step), and the
 * templates its texts are written in. Pure: the API, the activities and the
 * run's workflow share it.
 */
import type { MatchType } from './matchTypes.js';

/** Where a step may lead besides another step: the run ends there. */
export const END = 'end';

export interface Case {
  match_type: MatchType;
  value: string;
  next: string;
}

interface Base {
  /** Unique in the flow; `end` is reserved (it ends the run). */
  id: string;
  /** The step after this one; without it, the one listed after it. */
  next?: string;
}

export type SendMedia = 'image' | 'video' | 'document' | 'audio';

export type Step = Base &
  (
    | { type: 'send'; text?: string; media?: { kind: SendMedia; url: string; caption?: string; filename?: string } }
    | {
        type: 'ask';
        text: string;
        /** The variable the answer is kept in. */
        save?: string;
        /** Seconds to wait for the answer (a day by default), then `onTimeout`. */
        timeout?: number;
        onTimeout?: string;
        choices?: Case[];
        validate?: { regex: string; retryText?: string; maxRetries?: number; onInvalid?: string };
      }
    | { type: 'branch'; on: string; cases: Case[]; default?: string }
    | { type: 'wait'; seconds: number; cancelOnReply?: boolean; onReply?: string }
    | { type: 'http'; method: 'GET' | 'POST'; url: string; body?: unknown; save?: string; onError?: string }
    | { type: 'handoff'; text?: string }
    | { type: 'end' }
  );

export type Trigger = { type: 'keyword'; match_type: MatchType; text: string } | { type: 'api' };

export interface FlowDefinition {
  name: string;
  enabled: boolean;
  trigger: Trigger;
  steps: Step[];
}

/** A problem of a flow as a whole, at a step (or of the flow itself when `step` is absent). */
export interface FlowProblem {
  step?: string;
  message: string;
}

/** Steps after which a run stops, waiting for nothing: no step follows them by themselves. */
const TERMINAL = new Set<Step['type']>(['handoff', 'end']);
/** Steps that wait (for the contact, or for time): a loop through one of them does not spin. */
const WAITING = new Set<Step['type']>(['ask', 'wait']);

/** Where each step may lead: its explicit targets, and the step after it where it falls through. */
export function edgesOf(steps: Step[]): Map<string, string[]> {
  const edges = new Map<string, string[]>();
  steps.forEach((step, i) => {
    const targets: string[] = [];
    const fallThrough = step.next ?? (TERMINAL.has(step.type) || step.type === 'branch' ? undefined : (steps[i + 1]?.id ?? END));
    if (fallThrough) targets.push(fallThrough);
    switch (step.type) {
      case 'ask':
        if (step.onTimeout) targets.push(step.onTimeout);
        if (step.validate?.onInvalid) targets.push(step.validate.onInvalid);
        for (const choice of step.choices ?? []) targets.push(choice.next);
        break;
      case 'branch':
        for (const c of step.cases) targets.push(c.next);
        targets.push(step.default ?? steps[i + 1]?.id ?? END);
        break;
      case 'wait':
        if (step.onReply) targets.push(step.onReply);
        break;
      case 'http':
        if (step.onError) targets.push(step.onError);
        break;
    }
    edges.set(step.id, targets);
  });
  return edges;
}

/**
 * What is wrong with a flow as a whole: a duplicate or reserved step id, a
 * target no step has, a step no path reaches from the first, and a loop that
 * passes no `ask` or `wait` (a run would spin in it, sending). Empty when
 * nothing is.
 */
export function flowProblems(flow: Pick<FlowDefinition, 'steps'>): FlowProblem[] {
  const problems: FlowProblem[] = [];
  const { steps } = flow;
  if (steps.length === 0) return [{ message: 'a flow needs at least one step' }];
  const byId = new Map<string, Step>();
  for (const step of steps) {
    if (step.id === END) problems.push({ step: step.id, message: `"${END}" is reserved: it ends the run; give the step another id` });
    else if (byId.has(step.id)) problems.push({ step: step.id, message: `two steps have the id "${step.id}"` });
    else byId.set(step.id, step);
  }
  if (problems.length) return problems;
  const edges = edgesOf(steps);
  for (const [id, targets] of edges) {
    for (const target of new Set(targets)) {
      if (target !== END && !byId.has(target)) problems.push({ step: id, message: `leads to "${target}", which is no step of the flow` });
    }
  }
  if (problems.length) return problems;

  const reached = new Set<string>();
  const queue = [steps[0]!.id];
  while (queue.length) {
    const id = queue.shift()!;
    if (id === END || reached.has(id)) continue;
    reached.add(id);
    queue.push(...(edges.get(id) ?? []));
  }
  for (const step of steps) if (!reached.has(step.id)) problems.push({ step: step.id, message: 'no path from the first step reaches it' });

  for (const loop of loopsWithoutWaiting(steps, edges))
    problems.push({
      step: loop[0],
      message: `loops back (${[...loop, loop[0]].join(' → ')}) with no ask or wait on the way: a run would spin in it`,
    });
  return problems;
}

/** The cycles of steps that neither ask nor wait (Tarjan's strongly connected components over those steps). */
function loopsWithoutWaiting(steps: Step[], edges: Map<string, string[]>): string[][] {
  const busy = new Set(steps.filter((s) => !WAITING.has(s.type)).map((s) => s.id));
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const loops: string[][] = [];
  let counter = 0;
  const visit = (id: string) => {
    index.set(id, counter);
    low.set(id, counter++);
    stack.push(id);
    onStack.add(id);
    for (const next of edges.get(id) ?? []) {
      if (!busy.has(next)) continue;
      if (!index.has(next)) {
        visit(next);
        low.set(id, Math.min(low.get(id)!, low.get(next)!));
      } else if (onStack.has(next)) low.set(id, Math.min(low.get(id)!, index.get(next)!));
    }
    if (low.get(id) !== index.get(id)) return;
    const component: string[] = [];
    let member: string;
    do {
      member = stack.pop()!;
      onStack.delete(member);
      component.unshift(member);
    } while (member !== id);
    if (component.length > 1 || (edges.get(id) ?? []).includes(id)) loops.push(component);
  };
  for (const step of steps) if (busy.has(step.id) && !index.has(step.id)) visit(step.id);
  return loops;
}

/**
 * A template's text with its placeholders filled: `{name}`, `{phone}`,
 * `{time}`, any saved variable, and dotted paths into saved JSON
 * (`{lookup.status}`). An unknown placeholder stays as written, so a typo
 * shows in what is sent rather than vanishing. `encode` escapes each value
 * put in (a URL's `encodeURIComponent`).
 */
export function fillTemplate(template: string, vars: Record<string, unknown>, encode: (value: string) => string = (v) => v): string {
  return template.replace(/\{([\p{L}\p{N}_]+(?:\.[\p{L}\p{N}_]+)*)\}/gu, (whole, path: string) => {
    let value: unknown = vars;
    for (const key of path.split('.')) {
      if (value === null || typeof value !== 'object' || !(key in (value as object))) return whole;
      value = (value as Record<string, unknown>)[key];
    }
    if (value === null || value === undefined) return '';
    return encode(typeof value === 'object' ? JSON.stringify(value) : String(value));
  });
}

/** A JSON body with every string in it filled as a template. */
export function fillBody(body: unknown, vars: Record<string, unknown>): unknown {
  if (typeof body === 'string') return fillTemplate(body, vars);
  if (Array.isArray(body)) return body.map((item) => fillBody(item, vars));
  if (body && typeof body === 'object') return Object.fromEntries(Object.entries(body).map(([k, v]) => [k, fillBody(v, vars)]));
  return body;
}

/** Where a run is: going through its steps, waiting (for the contact or for time), or ended one of four ways. */
export const FLOW_RUN_STATUSES = ['running', 'waiting', 'completed', 'handoff', 'cancelled', 'failed'] as const;
export type FlowRunStatus = (typeof FLOW_RUN_STATUSES)[number];

/** What a run did at a step: a message it sent, one it received, or what happened (`note`: a timeout, an invalid answer, an HTTP answer...). */
export interface FlowHistoryEntry {
  step: string;
  /** ISO 8601. */
  at: string;
  sent?: string;
  received?: string;
  note?: string;
}

/** A run as the API shows it (`GET .../flows/runs/{runId}`). */
export interface FlowRun {
  runId: string;
  flowId: number;
  flowVersion: number;
  chatId: string;
  status: FlowRunStatus;
  step: string | null;
  vars: Record<string, unknown>;
  startedAt: string;
  endedAt: string | null;
  /** Why it failed or was cancelled. */
  reason: string | null;
  history: FlowHistoryEntry[];
}

/** A run keeps the last this many entries of its history. */
export const MAX_HISTORY = 200;

/** A contact's message as its chat's live run receives it. */
export interface FlowReply {
  /** The message id: a message seen twice is taken once. */
  id: string;
  /** Its text (a caption for media; empty for media without one). */
  body: string;
  /** The message type (`chat`, `image`, ...). */
  type: string;
  /** When it was written (ms since the epoch). */
  at: number;
}
