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

/**
 * Coalesces wakes: while a wake of an instance's outbox is in flight, the
 * requests that arrive share one more wake started after it (so a message
 * committed before that wake began is always seen), instead of one signal each.
 */
export class OutboxWaker {
  private readonly instances = new Map<string, { running: Promise<void>; next?: Promise<void> }>();

  constructor(
    private readonly client: Client,
    private readonly taskQueue: string,
  ) {}

  wake(instanceId: string): Promise<void> {
    const state = this.instances.get(instanceId);
    if (!state) return this.start(instanceId);
    state.next ??= state.running.catch(() => {}).then(() => this.start(instanceId));
    return state.next;
  }

  private start(instanceId: string): Promise<void> {
    const running = wakeOutbox(this.client, this.taskQueue, instanceId).finally(() => {
      const state = this.instances.get(instanceId);
      if (state?.running !== running) return;
      if (state.next) {
        // The queued wake is starting now and becomes the running one (see its own start()).
        return;
      }
      this.instances.delete(instanceId);
    });
    const state = this.instances.get(instanceId);
    if (state) {
      state.running = running;
      state.next = undefined;
    } else this.instances.set(instanceId, { running });
    return running;
  }
}
