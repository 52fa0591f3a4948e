import { condition, defineSignal, proxyActivities, setHandler, upsertMemo } from '@temporalio/workflow';
import type { ScheduledActivities } from '../activities/scheduled.js';

export interface ScheduledInput {
  instanceId: string;
  /** The scheduled message's id (scheduled_messages.id). */
  id: number;
  /** When it is due (ms since the epoch). */
  at: number;
}

/** The message was given a new time (`POST .../scheduled/{id}`). */
export const rescheduleSignal = defineSignal<[{ at: number }]>('reschedule');
/** The message was cancelled (`DELETE .../scheduled/{id}`). */
export const cancelScheduledSignal = defineSignal('cancel');

/**
 * The durable timer wakes the workflow this long before the message is due;
 * the activity waits out the rest in-process, to the millisecond (Temporal
 * may fire a timer up to a second late).
 */
export const LEAD_MS = 2_000;

/**
 * One scheduled message: a durable timer until its time, then it is handed to
 * the instance's outbox, once. Postgres is the record: a cancel or a new time
 * that reaches the row but not this workflow is found when it wakes.
 */
export async function scheduledMessageWorkflow({ instanceId, id, at }: ScheduledInput): Promise<string> {
  const { sendScheduled } = proxyActivities<ScheduledActivities>({
    startToCloseTimeout: '1 minute',
    retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '30 s' },
  });
  let dueAt = at;
  let cancelled = false;
  setHandler(rescheduleSignal, (change) => void (dueAt = change.at));
  setHandler(cancelScheduledSignal, () => void (cancelled = true));

  for (;;) {
    const target = dueAt;
    const iso = new Date(target).toISOString();
    upsertMemo({ scheduledAt: iso });
    const waitMs = target - LEAD_MS - Date.now();
    if (waitMs > 0) {
      await condition(() => cancelled || dueAt !== target, waitMs, { summary: `sends at ${iso}` });
      if (cancelled) return 'cancelled';
      if (dueAt !== target) continue;
    }
    if (cancelled) return 'cancelled';
    const result = await sendScheduled({ instanceId, id });
    if ('dueAt' in result) {
      dueAt = result.dueAt;
      continue;
    }
    upsertMemo({ scheduledAt: iso, outcome: result.outcome, messageId: result.messageId ?? null });
    return result.outcome;
  }
}
