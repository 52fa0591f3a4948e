import type { Client } from '@temporalio/client';
import type { scheduledMessageWorkflow } from '../workflows/scheduled.js';
import { INSTANCE_ID, workflowIds } from './temporal.js';

const within = <T>(client: Client, run: () => Promise<T>) => client.connection.withDeadline(Date.now() + 5_000, run);

/** Starts the workflow that sends scheduled message `id` at `at`. */
export async function startScheduled(client: Client, taskQueue: string, instanceId: string, id: number, at: Date): Promise<void> {
  await within(client, () =>
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
  await within(client, () => ('cancel' in change ? handle.signal('cancel') : handle.signal('reschedule', { at: change.at.getTime() })));
}
