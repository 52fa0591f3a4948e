import type { Db } from '../db/knex.js';
import { dropLease, findLease, sessionWorkerLoads } from '../db/leases.js';
import { pickWorker } from '../domain/sessionSpread.js';
import { recordConnection } from '../db/instances.js';
import { clearSessionAuth } from '../db/authStore.js';

/** Activities any worker can run: database bookkeeping around sessions. */
export function createGeneralActivities({ db }: { db: Db }) {
  return {
    async locateSession({ instanceId }: { instanceId: string }): Promise<{ taskQueue: string; epoch: number } | null> {
      const lease = await findLease(db, instanceId);
      return lease ? { taskQueue: lease.task_queue, epoch: Number(lease.epoch) } : null;
    },

    /**
     * Where the session goes: the task queue of a session worker that is up and under its share (see
     * domain/sessionSpread.ts), or null when no worker says it is up (the session workers' shared queue then).
     * A worker is up when seen within half the heartbeat timeout; a session held while its lease was renewed
     * within the whole of it.
     */
    async placeSession({
      heartbeatTimeoutSeconds,
    }: {
      instanceId: string;
      heartbeatTimeoutSeconds: number;
    }): Promise<{ taskQueue: string; workerId: string } | null> {
      const loads = await sessionWorkerLoads(db, heartbeatTimeoutSeconds / 2, heartbeatTimeoutSeconds);
      const picked = pickWorker(loads);
      return picked ? { taskQueue: picked.taskQueue, workerId: picked.workerId } : null;
    },

    /** After a logout: the credentials are void, the instance needs a new QR. */
    async forgetSession({ instanceId }: { instanceId: string }): Promise<void> {
      await clearSessionAuth(db, instanceId);
      await dropLease(db, instanceId);
      await recordConnection(db, instanceId, { status: 'disconnected', qr: null, account: null });
    },

    /** After a stop: the credentials stay, so a later connect resumes without a QR. */
    async markDisconnected({ instanceId }: { instanceId: string }): Promise<void> {
      await dropLease(db, instanceId);
      await recordConnection(db, instanceId, { status: 'disconnected', qr: null });
    },
  };
}

export type GeneralActivities = ReturnType<typeof createGeneralActivities>;
