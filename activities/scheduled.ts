import { setTimeout as sleep } from 'node:timers/promises';
import type { Db } from '../db/knex.js';
import { getInstance } from '../db/instances.js';
import { insertOutgoing, outgoing } from '../db/outgoing.js';
import { claimScheduled, getScheduled, idempotencyKeyOf } from '../db/scheduled.js';
import { newMessageId } from '../domain/content.js';

export interface ScheduledDeps {
  db: Db;
  /** Wakes the instance's outbox workflow (starting it if need be). */
  wakeOutbox: (instanceId: string) => Promise<void>;
}

/** Not due yet (it was given a later time): when it is. */
export type ScheduledResult = { dueAt: number } | { outcome: 'queued' | 'sent' | 'failed' | 'cancelled' | 'unknown'; messageId?: string };

/** Longest wait done in-process; a later time goes back to the workflow's durable timer. */
const MAX_INLINE_WAIT_MS = 5_000;

export function createScheduledActivities({ db, wakeOutbox }: ScheduledDeps) {
  return {
    /**
     * Hands a due scheduled message to the outbox, exactly once: the claim
     * records its message id first, and the outbox refuses a second message
     * with its idempotency key, so a retry after a crash at any point sends
     * nothing twice.
     */
    async sendScheduled({ instanceId, id }: { instanceId: string; id: number }): Promise<ScheduledResult> {
      const row = await getScheduled(db, instanceId, id);
      if (!row) return { outcome: 'unknown' };
      if (row.status !== 'pending') return { outcome: row.status };
      const waitMs = row.scheduled_at.getTime() - Date.now();
      if (waitMs > MAX_INLINE_WAIT_MS) return { dueAt: row.scheduled_at.getTime() };
      if (waitMs > 0) {
        // Start the outbox's drain now, so that it is running (and hears the insert) at the due moment: started
        // then, it would wait behind whatever else Temporal has to do at that moment (200 messages due in one
        // second went out 2 s late, behind their own workflows' tasks).
        await wakeOutbox(instanceId);
        await sleep(waitMs);
      }

      const claim = await claimScheduled(db, instanceId, id, newMessageId());
      if ('dueAt' in claim) return { dueAt: claim.dueAt.getTime() };
      if ('done' in claim) return { outcome: claim.done === 'pending' ? 'queued' : claim.done };
      const scheduled = claim.claimed;
      const instance = await getInstance(db, instanceId);
      const inserted = await insertOutgoing(
        db,
        outgoing(instance, {
          instanceId,
          id: scheduled.message_id!,
          chatId: scheduled.recipient,
          content: scheduled.content,
          idempotencyKey: idempotencyKeyOf(id),
          source: 'scheduled',
        }),
      );
      // A running drain heard the insert; otherwise the outbox workflow is woken (as for a send request).
      if (!inserted.drainActive) await wakeOutbox(instanceId);
      return { outcome: 'queued', messageId: inserted.row.id };
    },
  };
}

export type ScheduledActivities = ReturnType<typeof createScheduledActivities>;
