import type { Client } from '@temporalio/client';
import type { outboxWorkflow } from '../workflows/outbox.js';
import { INSTANCE_ID, workflowIds } from './temporal.js';

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

/** Wakes that failed (Temporal unreachable), retried per client, task queue and instance. */
const retrying = new WeakMap<Client, Set<string>>();
const RETRY_FIRST_MS = 1_000;
const RETRY_MAX_MS = 30_000;

/**
 * Wakes the instance's outbox without making the caller wait or fail: a
 * message that is committed is accepted, whether Temporal answers or not.
 * A failed wake is retried in the background, 1 s then doubling up to 30 s,
 * until Temporal takes it; should this process end first, the general
 * workers' outbox sweep (worker/sweeps.ts) wakes the instance.
 */
export function wakeOutboxSoon(client: Client, taskQueue: string, instanceId: string, onError: (err: unknown) => void): void {
  let keys = retrying.get(client);
  if (!keys) retrying.set(client, (keys = new Set()));
  const key = `${taskQueue}\n${instanceId}`;
  // One wake (and one retry loop) at a time per outbox: the messages stored meanwhile share it.
  if (keys.has(key)) return;
  keys.add(key);
  const attempt = (delayMs: number): Promise<unknown> =>
    wakeOutbox(client, taskQueue, instanceId).then(
      () => keys.delete(key),
      (err) => {
        if (delayMs === RETRY_FIRST_MS) onError(err);
        setTimeout(() => void attempt(Math.min(RETRY_MAX_MS, delayMs * 2)), delayMs).unref();
      },
    );
  void attempt(RETRY_FIRST_MS);
}
