import type { Db } from '../db/knex.js';
import { dropLease, findLease } from '../db/leases.js';
import { recordConnection } from '../db/instances.js';
import { clearSessionAuth } from '../db/authStore.js';

/** Activities any worker can run: database bookkeeping around sessions. */
export function createGeneralActivities({ db }: { db: Db }) {
  return {
    async locateSession({ instanceId }: { instanceId: string }): Promise<{ taskQueue: string; epoch: number } | null> {
      const lease = await findLease(db, instanceId);
      return lease ? { taskQueue: lease.task_queue, epoch: Number(lease.epoch) } : null;
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
