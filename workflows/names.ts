/**
 * The names of the gateway's workflows, shared with the processes that start
 * them (temporal/, worker/, stack/): task queues, workflow ids and search
 * attributes. Pure values only: the workflow bundle imports this file, so it
 * imports nothing but types.
 */
import type { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

/** A search attribute's key (what `defineSearchAttributeKey` makes, written out so this file needs only types). */
const searchAttribute = <T extends SearchAttributeType>(name: string, type: T): ReturnType<typeof defineSearchAttributeKey<T>> => ({
  name,
  type,
});

/** Search attribute on every workflow of an instance, for the Temporal UI and for cleanup on delete. */
export const INSTANCE_ID = searchAttribute('InstanceId', 'KEYWORD');
/** What an instance's webhook delivery is doing: `delivering`, `failing` (probing on the backoff schedule), `waiting`, `paused`. */
export const WEBHOOK_STATE = searchAttribute('WebhookState', 'KEYWORD');
/** The job of a bulk campaign's workflow. */
export const BULK_JOB_ID = searchAttribute('BulkJobId', 'INT');
/** The flow a conversation flow's run runs. */
export const FLOW_ID = searchAttribute('FlowId', 'INT');
/** The chat a conversation flow's run talks in. */
export const CHAT_ID = searchAttribute('ChatId', 'KEYWORD');
export const SEARCH_ATTRIBUTES = [INSTANCE_ID, WEBHOOK_STATE, BULK_JOB_ID, FLOW_ID, CHAT_ID];

export interface TaskQueues {
  /** Workflows and activities that any worker can run. */
  general: string;
  /** Where session-holding activities wait for a worker with room. */
  sessions: string;
  /** Webhook delivery: its workflows and their drains (run by general workers). */
  webhooks: string;
}

export function taskQueues(base: string): TaskQueues {
  return { general: base, sessions: `${base}-sessions`, webhooks: `${base}-webhooks` };
}

/** A session worker's own queue: activities that must run where the socket lives. */
export function hostQueue(base: string, workerId: string): string {
  return `${base}-host-${workerId}`;
}

/**
 * How long a session workflow's task may stay with one worker. A worker that
 * shuts down can be handed a task just as it stops polling, and the task then
 * waits out this timeout before another worker gets it: at Temporal's default
 * (10 s) about one hand-over in fifty took 10 s. Its tasks are short (the
 * workflow's history stays small: it continues as new).
 */
export const SESSION_WORKFLOW_TASK_TIMEOUT = '3 s';

export const workflowIds = {
  session: (instanceId: string) => `session-${instanceId}`,
  outbox: (instanceId: string) => `outbox-${instanceId}`,
  webhooks: (instanceId: string) => `webhooks-${instanceId}`,
  scheduled: (instanceId: string, id: number) => `scheduled-${instanceId}-${id}`,
  campaign: (instanceId: string, jobId: number) => `bulk-${instanceId}-${jobId}`,
  chatbotReply: (instanceId: string, messageId: string) => `chatbot-${instanceId}-${messageId}`,
  eventSink: (sink: string) => `event-sink-${sink}`,
  flowRun: (instanceId: string, runId: string) => `flow-${instanceId}-${runId}`,
};
