/**
 * The runs of conversation flows: one row per run, written by whoever starts
 * it (the API, or the session worker on a keyword) and then by its workflow
 * (workflows/flow.ts) at every step it waits or ends on. The row is the
 * record: a cancel that reaches the row but not the workflow stops the run at
 * its next write. A chat has at most one live run (`running` or `waiting`),
 * which the contact's messages go to.
 */
import type { Knex } from 'knex';
import type { Db } from './knex.js';
import { personHasChat } from './chatbot.js';
import { recordEvent } from './events.js';
import type { StoredFlow } from './flows.js';
import type { FlowHistoryEntry, FlowRun, FlowRunStatus } from '../domain/flows.js';

export type { FlowRun } from '../domain/flows.js';

export const LIVE_STATUSES = ['running', 'waiting'] as const;

const fromRow = (row: Record<string, any>): FlowRun => ({
  runId: row.run_id,
  flowId: Number(row.flow_id),
  flowVersion: Number(row.flow_version),
  chatId: row.chat_id,
  status: row.status,
  step: row.step,
  vars: row.vars,
  startedAt: new Date(row.started_at).toISOString(),
  endedAt: row.ended_at ? new Date(row.ended_at).toISOString() : null,
  reason: row.reason ?? null,
  // Each entry's fields in the order of FlowHistoryEntry (Postgres keeps them in an order of its own).
  history: (row.history as FlowHistoryEntry[]).map(({ step, at, sent, received, note }) => ({
    step,
    at,
    ...(sent !== undefined ? { sent } : {}),
    ...(received !== undefined ? { received } : {}),
    ...(note !== undefined ? { note } : {}),
  })),
});

const chatLock = (trx: Knex.Transaction, instanceId: string, chatId: string) =>
  trx.raw('select pg_advisory_xact_lock(hashtext(?))', [`flows ${instanceId} ${chatId}`]);

export interface NewRun {
  runId: string;
  instanceId: string;
  flow: Pick<StoredFlow, 'id' | 'version' | 'steps'>;
  chatId: string;
  vars: Record<string, unknown>;
  /** What started it: the API, or a contact's message that matched the flow's keyword. */
  trigger: { type: 'api' } | { type: 'keyword'; messageId: string; body: string };
  /** Cancel the chat's live run, if any, instead of refusing. */
  replace?: boolean;
  /** Refuse while the chat is paused for the bot (a person wrote, or a flow handed it over), for this many minutes. */
  pauseMinutes?: number;
}

export type StartOutcome =
  | { started: FlowRun; replaced?: string }
  /** The chat has a live run already. */
  | { live: string }
  /** A person is handling the chat. */
  | { paused: true }
  /** A run with this id exists already (the same message seen again): as it is. */
  | { exists: FlowRun };

/**
 * Stores a new run as `running` at the flow's first step and records
 * `flow_started`, unless the chat has a live run (which `replace` cancels)
 * or, for a keyword, a person is handling the chat. One start at a time per
 * chat.
 */
export async function startRun(db: Db, run: NewRun): Promise<StartOutcome> {
  return db.transaction(async (trx) => {
    await chatLock(trx, run.instanceId, run.chatId);
    const earlier = await trx('flow_runs').where({ run_id: run.runId }).first();
    if (earlier) return { exists: fromRow(earlier) };
    const live = await trx('flow_runs')
      .where({ instance_id: run.instanceId, chat_id: run.chatId })
      .whereIn('status', LIVE_STATUSES)
      .first('run_id');
    let replaced: string | undefined;
    if (live) {
      if (!run.replace) return { live: live.run_id };
      await cancelRuns(trx, run.instanceId, { runId: live.run_id }, `replaced by run ${run.runId}`);
      replaced = live.run_id;
    }
    if (
      run.pauseMinutes !== undefined &&
      run.pauseMinutes > 0 &&
      (await personHasChat(trx, run.instanceId, run.chatId, Math.floor(Date.now() / 1000) - run.pauseMinutes * 60))
    )
      return { paused: true };
    const history: FlowHistoryEntry[] =
      run.trigger.type === 'keyword' ? [{ step: 'trigger', at: new Date().toISOString(), received: run.trigger.body }] : [];
    const [row] = await trx('flow_runs')
      .insert({
        run_id: run.runId,
        instance_id: run.instanceId,
        flow_id: run.flow.id,
        flow_version: run.flow.version,
        chat_id: run.chatId,
        status: 'running',
        step: run.flow.steps[0]!.id,
        vars: JSON.stringify(run.vars),
        history: JSON.stringify(history),
      })
      .returning('*');
    await recordEvent(trx, run.instanceId, 'flow_started', {
      runId: run.runId,
      flowId: run.flow.id,
      flowVersion: run.flow.version,
      chatId: run.chatId,
      trigger: run.trigger.type,
      vars: run.vars,
    });
    return { started: fromRow(row), ...(replaced ? { replaced } : {}) };
  });
}

/** What a run's workflow writes of itself: each write numbered, so a retried older one changes nothing. */
export interface RunState {
  seq: number;
  status: FlowRunStatus;
  step: string | null;
  vars: Record<string, unknown>;
  history: FlowHistoryEntry[];
  reason?: string;
}

/** How an ended run is announced. */
const END_EVENTS = { completed: 'flow_completed', handoff: 'flow_handoff', failed: 'flow_failed' } as const;

/**
 * Writes the run's state as its workflow has it, ending it when its status
 * is no longer live (with its event; a handoff also pauses the bot in the
 * chat). Undefined when written (or written before); the row's status when
 * the run was ended meanwhile from outside (cancelled): the workflow stops.
 */
export async function saveRun(
  db: Db,
  instanceId: string,
  runId: string,
  state: RunState,
  trx?: Knex.Transaction,
): Promise<FlowRunStatus | undefined> {
  if (!trx) return db.transaction((t) => saveRun(db, instanceId, runId, state, t));
  const live = (LIVE_STATUSES as readonly string[]).includes(state.status);
  const [row] = await trx('flow_runs')
    .where({ run_id: runId, instance_id: instanceId })
    .whereIn('status', LIVE_STATUSES)
    .where('seq', '<', state.seq)
    .update({
      seq: state.seq,
      status: state.status,
      step: state.step,
      vars: JSON.stringify(state.vars),
      history: JSON.stringify(state.history),
      reason: state.reason ?? null,
      ...(live ? {} : { ended_at: trx.fn.now() }),
    })
    .returning(['flow_id', 'chat_id']);
  if (!row) {
    const now = await trx('flow_runs').where({ run_id: runId, instance_id: instanceId }).first('status', 'seq');
    if (!now) return 'cancelled';
    return (LIVE_STATUSES as readonly string[]).includes(now.status) || now.seq >= state.seq ? undefined : now.status;
  }
  await ended(trx, instanceId, runId, row, state);
  return undefined;
}

/** What follows a run's end in its transaction: a handoff pauses the bot in the chat; every end but a cancel is announced. */
async function ended(
  trx: Knex.Transaction,
  instanceId: string,
  runId: string,
  row: { flow_id: string | number; chat_id: string },
  state: Pick<RunState, 'status' | 'step' | 'vars' | 'reason'>,
): Promise<void> {
  if (state.status === 'handoff')
    await trx('chats')
      .insert({ instance_id: instanceId, id: row.chat_id, handoff_at: Math.floor(Date.now() / 1000) })
      .onConflict(['instance_id', 'id'])
      .merge({ handoff_at: Math.floor(Date.now() / 1000) });
  const event = END_EVENTS[state.status as keyof typeof END_EVENTS];
  if (event)
    await recordEvent(trx, instanceId, event, {
      runId,
      flowId: Number(row.flow_id),
      chatId: row.chat_id,
      ...(state.status === 'completed' ? {} : { step: state.step }),
      ...(state.reason ? { reason: state.reason } : {}),
      vars: state.vars,
    });
}

/** Ends a live run as failed from outside its workflow (the workflow is gone), keeping what it had written. */
export async function failRun(db: Db, instanceId: string, runId: string, reason: string): Promise<void> {
  await db.transaction(async (trx) => {
    const [row] = await trx('flow_runs')
      .where({ run_id: runId, instance_id: instanceId })
      .whereIn('status', LIVE_STATUSES)
      .update({ status: 'failed', reason, ended_at: trx.fn.now() })
      .returning(['flow_id', 'chat_id', 'step', 'vars']);
    if (row) await ended(trx, instanceId, runId, row, { status: 'failed', step: row.step, vars: row.vars, reason });
  });
}

/**
 * Cancels live runs: one (`runId`), the chat's (`chatId`: the contact opted out) or a flow's (`flowId`: it is
 * being deleted). The ids of the runs cancelled now; their workflows stop at their next step, or sooner when told.
 */
export async function cancelRuns(
  db: Db | Knex.Transaction,
  instanceId: string,
  which: { runId: string } | { chatId: string } | { flowId: number },
  reason: string,
): Promise<string[]> {
  const where = 'runId' in which ? { run_id: which.runId } : 'chatId' in which ? { chat_id: which.chatId } : { flow_id: which.flowId };
  const rows = await db('flow_runs')
    .where({ instance_id: instanceId, ...where })
    .whereIn('status', LIVE_STATUSES)
    .update({ status: 'cancelled', reason, ended_at: db.fn.now() })
    .returning('run_id');
  return rows.map((r: { run_id: string }) => r.run_id);
}

export async function getRun(db: Db, instanceId: string, runId: string): Promise<FlowRun | undefined> {
  const row = await db('flow_runs').where({ run_id: runId, instance_id: instanceId }).first();
  return row ? fromRow(row) : undefined;
}

/** A page of a flow's runs, newest first, without their history. */
export async function listRuns(
  db: Db,
  instanceId: string,
  flowId: number,
  query: { status?: FlowRunStatus; limit: number; page: number },
): Promise<{ runs: Array<Omit<FlowRun, 'history'>>; total: number }> {
  const where = (q: Knex.QueryBuilder) => {
    q.where({ instance_id: instanceId, flow_id: flowId });
    if (query.status) q.where({ status: query.status });
    return q;
  };
  const [rows, [{ n }]] = await Promise.all([
    where(db('flow_runs'))
      .orderBy([
        { column: 'started_at', order: 'desc' },
        { column: 'run_id', order: 'desc' },
      ])
      .limit(query.limit)
      .offset((query.page - 1) * query.limit)
      .select('run_id', 'flow_id', 'flow_version', 'chat_id', 'status', 'step', 'vars', 'started_at', 'ended_at', 'reason'),
    where(db('flow_runs')).count({ n: '*' }),
  ]);
  return {
    runs: rows.map((row: Record<string, any>) => {
      const { history: _history, ...run } = fromRow({ ...row, history: [] });
      return run;
    }),
    total: Number(n),
  };
}

/** The live runs of these chats, by chat: where their contacts' messages go. */
export async function liveRunsOf(db: Db, instanceId: string, chatIds: string[]): Promise<Map<string, { runId: string; startedAt: Date }>> {
  if (chatIds.length === 0) return new Map();
  const rows = await db('flow_runs')
    .where({ instance_id: instanceId })
    .whereIn('chat_id', chatIds)
    .whereIn('status', LIVE_STATUSES)
    .select('run_id', 'chat_id', 'started_at');
  return new Map(
    rows.map((r: { run_id: string; chat_id: string; started_at: Date }) => [r.chat_id, { runId: r.run_id, startedAt: r.started_at }]),
  );
}
