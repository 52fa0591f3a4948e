import type { Client } from '@temporalio/client';
import type { outboxWorkflow } from '../workflows/outbox.js';
import { INSTANCE_ID, workflowIds } from './temporal.js';

/** Wakes the instance's outbox workflow, starting it if it is not running. */
export async function wakeOutbox(client: Client, taskQueue: string, instanceId: string): Promise<void> {
  await client.connection.withDeadline(Date.now() + 5_000, () =>
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
