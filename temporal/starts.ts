/**
 * Starting and signalling the gateway's workflows from outside them (the API,
 * the workers' activities and sweeps): one function per start or signal, each
 * within the client's deadline, so a dead Temporal yields an error, not a hang.
 */
import { WorkflowExecutionAlreadyStartedError, type Client } from '@temporalio/client';
import type { ChatbotReplyInput } from '../activities/chatbot.js';
import type { campaignWorkflow } from '../workflows/campaign.js';
import type { chatbotReplyWorkflow } from '../workflows/chatbot.js';
import { BULK_JOB_ID, CHAT_ID, FLOW_ID, INSTANCE_ID, workflowIds, type TaskQueues } from '../workflows/names.js';
import type { flowRunWorkflow } from '../workflows/flow.js';
import type { FlowRunInput } from '../activities/flows.js';
import type { FlowReply } from '../domain/flows.js';
import type { outboxWorkflow } from '../workflows/outbox.js';
import type { scheduledMessageWorkflow } from '../workflows/scheduled.js';
import type { webhooksWorkflow } from '../workflows/webhooks.js';
import type { eventSinkWorkflow } from '../workflows/eventSink.js';
import { withinDeadline } from './client.js';

/** Starts a broker sink's workflow unless it runs already. */
export async function ensureEventSink(client: Client, queues: TaskQueues, sink: string): Promise<void> {
  await withinDeadline(client, () =>
    client.workflow.start<typeof eventSinkWorkflow>('eventSinkWorkflow', {
      taskQueue: queues.general,
      workflowId: workflowIds.eventSink(sink),
      workflowIdConflictPolicy: 'USE_EXISTING',
      args: [{ sink, queue: queues.webhooks }],
    }),
  );
}

/** Starts the workflow that runs campaign `jobId`. */
export async function startCampaign(client: Client, taskQueue: string, instanceId: string, jobId: number, startAt?: Date): Promise<void> {
  await withinDeadline(client, () =>
    client.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
      taskQueue,
      workflowId: workflowIds.campaign(instanceId, jobId),
      args: [{ instanceId, jobId, startAt: startAt?.getTime() }],
      typedSearchAttributes: [
        { key: INSTANCE_ID, value: instanceId },
        { key: BULK_JOB_ID, value: jobId },
      ],
      memo: { state: startAt && startAt.getTime() > Date.now() ? 'scheduled' : 'running' },
    }),
  );
}

/** Tells the campaign's workflow that its job was paused, resumed or cancelled. */
export async function campaignChanged(client: Client, instanceId: string, jobId: number): Promise<void> {
  await withinDeadline(client, () => client.workflow.getHandle(workflowIds.campaign(instanceId, jobId)).signal('changed'));
}

/** Starts the workflow that sends scheduled message `id` at `at`. */
export async function startScheduled(client: Client, taskQueue: string, instanceId: string, id: number, at: Date): Promise<void> {
  await withinDeadline(client, () =>
    client.workflow.start<typeof scheduledMessageWorkflow>('scheduledMessageWorkflow', {
      taskQueue,
      workflowId: workflowIds.scheduled(instanceId, id),
      args: [{ instanceId, id, at: at.getTime() }],
      typedSearchAttributes: [{ key: INSTANCE_ID, value: instanceId }],
      memo: { scheduledAt: at.toISOString() },
    }),
  );
}

/** Tells the workflow of a scheduled message that it was cancelled or given a new time. */
export async function signalScheduled(
  client: Client,
  instanceId: string,
  id: number,
  change: { cancel: true } | { at: Date },
): Promise<void> {
  const handle = client.workflow.getHandle(workflowIds.scheduled(instanceId, id));
  await withinDeadline(client, () =>
    'cancel' in change ? handle.signal('cancel') : handle.signal('reschedule', { at: change.at.getTime() }),
  );
}

/**
 * Starts the bot's reply to an incoming message. Its workflow id names the
 * message and may never be used again: a message WhatsApp delivers twice (or
 * that is seen again after a crash) gets no second reply. Returns false when
 * that reply was started before.
 */
export async function startChatbotReply(client: Client, taskQueue: string, input: ChatbotReplyInput): Promise<boolean> {
  return startOnce(client, () =>
    client.workflow.start<typeof chatbotReplyWorkflow>('chatbotReplyWorkflow', {
      taskQueue,
      workflowId: workflowIds.chatbotReply(input.instanceId, input.messageId),
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // Where this process also runs general workers (the default roles), the server hands the workflow's
      // first task back in the start's answer instead of through the task queue.
      requestEagerStart: true,
      args: [input],
      typedSearchAttributes: [{ key: INSTANCE_ID, value: input.instanceId }],
      memo: { chatId: input.chatId, messageId: input.messageId, ruleId: input.ruleId, delaySeconds: input.delaySeconds },
    }),
  );
}

/** Makes a start whose workflow id may be used once (REJECT_DUPLICATE): false when it was made before. */
async function startOnce(client: Client, start: () => Promise<unknown>): Promise<boolean> {
  try {
    await withinDeadline(client, start);
    return true;
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) return false;
    throw err;
  }
}

/**
 * Starts a conversation flow's run (its row is stored already: db/flowRuns.ts
 * startRun). Starting it again (a keyword message seen again after a crash)
 * changes nothing.
 */
export async function startFlowRun(
  client: Client,
  taskQueue: string,
  input: FlowRunInput,
  options: { eager?: boolean } = {},
): Promise<void> {
  await startOnce(client, () =>
    client.workflow.start<typeof flowRunWorkflow>('flowRunWorkflow', {
      taskQueue,
      workflowId: workflowIds.flowRun(input.instanceId, input.runId),
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
      // From a worker process (a keyword's run), its own workflow worker takes the first task at once.
      requestEagerStart: options.eager ?? false,
      args: [input],
      typedSearchAttributes: [
        { key: INSTANCE_ID, value: input.instanceId },
        { key: FLOW_ID, value: input.flowId },
        { key: CHAT_ID, value: input.chatId },
      ],
      memo: { status: 'running', step: input.steps[0]?.id ?? null },
    }),
  );
}

/** Hands a contact's message to the chat's live run. */
export async function signalFlowReply(client: Client, instanceId: string, runId: string, reply: FlowReply): Promise<void> {
  await withinDeadline(client, () => client.workflow.getHandle(workflowIds.flowRun(instanceId, runId)).signal('reply', reply));
}

/**
 * Tells cancelled runs' workflows (their rows say so already: a run the signal misses stops at its next
 * step). A failure is handed to `onError`, not thrown: the cancel stands either way.
 */
export async function tellFlowRunsCancelled(
  client: Client,
  instanceId: string,
  runIds: string[],
  onError: (err: unknown, runId: string) => void,
): Promise<void> {
  await Promise.all(runIds.map((runId) => signalFlowRun(client, instanceId, runId, 'cancel').catch((err) => onError(err, runId))));
}

/** Tells a run it was cancelled (its row says so already), or that a person wrote in its chat (`takeover`). */
export async function signalFlowRun(client: Client, instanceId: string, runId: string, signal: 'cancel' | 'takeover'): Promise<void> {
  await withinDeadline(client, () => client.workflow.getHandle(workflowIds.flowRun(instanceId, runId)).signal(signal));
}

/**
 * Wakes the instance's webhook delivery, starting its workflow if it is not
 * running. `now`: make an attempt at once, even while the receiver is failing
 * (a retry or a test asked for, or changed settings).
 */
export async function wakeWebhooks(client: Client, queues: TaskQueues, instanceId: string, options: { now?: boolean } = {}): Promise<void> {
  await withinDeadline(client, () =>
    client.workflow.signalWithStart<typeof webhooksWorkflow, [{ now?: boolean; at?: number }?]>('webhooksWorkflow', {
      taskQueue: queues.general,
      workflowId: workflowIds.webhooks(instanceId),
      args: [{ instanceId, deliveryQueue: queues.webhooks }],
      signal: 'wake',
      // When it was asked: a receiver failing only after that has been asked again already.
      signalArgs: [options.now ? { now: true, at: Date.now() } : {}],
      typedSearchAttributes: [{ key: INSTANCE_ID, value: instanceId }],
    }),
  );
}

/** Wakes under way, per client, task queue and instance. */
const underWay = new WeakMap<Client, Map<string, Promise<void>>>();

/**
 * Wakes the instance's outbox workflow, starting it if it is not running.
 * Callers that come while a wake of the same outbox is under way share it:
 * a message committed before that wake is answered is picked up by the drain
 * it starts (which hears every later insert's NOTIFY from its start), and a
 * storm of signals would only hold the workflow back (each one arriving
 * while it decides makes Temporal run that decision again: 200 scheduled
 * messages due at once held the drain back 3.7 s).
 */
export function wakeOutbox(client: Client, taskQueue: string, instanceId: string): Promise<void> {
  let byKey = underWay.get(client);
  if (!byKey) underWay.set(client, (byKey = new Map()));
  const key = `${taskQueue}\n${instanceId}`;
  const running = byKey.get(key);
  if (running) return running;
  const wake = signalOutbox(client, taskQueue, instanceId).finally(() => byKey.delete(key));
  byKey.set(key, wake);
  return wake;
}

async function signalOutbox(client: Client, taskQueue: string, instanceId: string): Promise<void> {
  await withinDeadline(client, () =>
    client.workflow.signalWithStart<typeof outboxWorkflow, []>('outboxWorkflow', {
      taskQueue,
      workflowId: workflowIds.outbox(instanceId),
      args: [{ instanceId }],
      signal: 'wake',
      signalArgs: [],
      typedSearchAttributes: [{ key: INSTANCE_ID, value: instanceId }],
    }),
  );
}

/**
 * Per client: the outboxes whose wake failed (Temporal could not be reached), woken again together as
 * soon as Temporal answers. One probe at a time retries one of them every PROBE_EVERY_MS; when it gets
 * through, the others follow at once: a 12 s blip's messages go out within a second or two of the return,
 * at one probe per API process (not one retry loop per outbox) while Temporal is away.
 */
interface Stranded {
  outboxes: Map<string, { taskQueue: string; instanceId: string }>;
  probing: boolean;
}
const stranded = new WeakMap<Client, Stranded>();
const PROBE_EVERY_MS = 1_000;

const keyOf = (taskQueue: string, instanceId: string) => `${taskQueue}\n${instanceId}`;

/** Whether wakes through this client are failing now: Temporal could not be reached lately and has not answered since. */
export function temporalAway(client: Client): boolean {
  return (stranded.get(client)?.outboxes.size ?? 0) > 0;
}

/**
 * Wakes the instance's outbox without making the caller wait or fail: a
 * message that is committed is accepted, whether Temporal answers or not.
 * A failed wake is retried in the background until Temporal takes it (see
 * Stranded); should this process end first, the general workers' outbox
 * sweep (worker/sweeps.ts) wakes the instance. Resolves true once the wake
 * got through, false as soon as it failed (the retries go on): a caller can
 * stop waiting for a drain that cannot start yet.
 */
export function wakeOutboxSoon(client: Client, taskQueue: string, instanceId: string, onError: (err: unknown) => void): Promise<boolean> {
  let state = stranded.get(client);
  if (!state) stranded.set(client, (state = { outboxes: new Map(), probing: false }));
  const key = keyOf(taskQueue, instanceId);
  // Temporal is away: this outbox joins those woken when it is back.
  if (state.outboxes.size > 0) {
    state.outboxes.set(key, { taskQueue, instanceId });
    return Promise.resolve(false);
  }
  return wakeOutbox(client, taskQueue, instanceId).then(
    () => true,
    (err) => {
      // Said once per outbox and outage (callers sharing a failed wake see the same error).
      if (!state.outboxes.has(key)) onError(err);
      state.outboxes.set(key, { taskQueue, instanceId });
      probe(client, state, onError);
      return false;
    },
  );
}

function probe(client: Client, state: Stranded, onError: (err: unknown) => void): void {
  if (state.probing) return;
  state.probing = true;
  const next = () => setTimeout(attempt, PROBE_EVERY_MS).unref();
  const attempt = () => {
    const first = state.outboxes.entries().next().value;
    if (!first) return void (state.probing = false);
    const [key, { taskQueue, instanceId }] = first;
    wakeOutbox(client, taskQueue, instanceId).then(() => {
      state.outboxes.delete(key);
      // Back: every other stranded outbox is woken now (one failing again rejoins the probe's list).
      const rest = [...state.outboxes.values()];
      state.outboxes.clear();
      state.probing = false;
      for (const outbox of rest) void wakeOutboxSoon(client, outbox.taskQueue, outbox.instanceId, onError);
    }, next);
  };
  next();
}
