import type { Client } from '@temporalio/client';
import type { webhooksWorkflow } from '../workflows/webhooks.js';
import { INSTANCE_ID, workflowIds, type TaskQueues } from './temporal.js';

/**
 * Wakes the instance's webhook delivery, starting its workflow if it is not
 * running. `now`: make an attempt at once, even while the receiver is failing
 * (a retry or a test asked for, or changed settings).
 */
export async function wakeWebhooks(client: Client, queues: TaskQueues, instanceId: string, options: { now?: boolean } = {}): Promise<void> {
  await client.connection.withDeadline(Date.now() + 5_000, () =>
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
