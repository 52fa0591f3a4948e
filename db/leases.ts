import type { Db } from './knex.js';

export interface SessionLease {
  instance_id: string;
  worker_id: string;
  task_queue: string;
  epoch: string;
  heartbeat_at: Date;
}

/**
 * Claims an instance's session for this worker and returns the new epoch.
 * A holder whose epoch is no longer current has been replaced and must stop.
 * Epochs come from one sequence: never reused, even after a lease row was deleted.
 */
export async function claimLease(db: Db, instanceId: string, workerId: string, taskQueue: string): Promise<number> {
  const epoch = db.raw(`nextval('session_lease_epochs')`);
  const [row] = await db('session_leases')
    .insert({ instance_id: instanceId, worker_id: workerId, task_queue: taskQueue, epoch, heartbeat_at: db.fn.now() })
    .onConflict('instance_id')
    .merge({ worker_id: workerId, task_queue: taskQueue, epoch, heartbeat_at: db.fn.now() })
    .returning('epoch');
  return Number(row.epoch);
}

/** Renews the lease; false when another worker has claimed it since. */
export async function renewLease(db: Db, instanceId: string, epoch: number): Promise<boolean> {
  const updated = await db('session_leases').where({ instance_id: instanceId, epoch }).update({ heartbeat_at: db.fn.now() });
  return updated > 0;
}

export async function releaseLease(db: Db, instanceId: string, epoch: number): Promise<void> {
  await db('session_leases').where({ instance_id: instanceId, epoch }).delete();
}

export async function findLease(db: Db, instanceId: string): Promise<SessionLease | undefined> {
  return db<SessionLease>('session_leases').where({ instance_id: instanceId }).first();
}

/** Drops the instance's lease whoever holds it (its session was stopped or logged out). */
export async function dropLease(db: Db, instanceId: string): Promise<void> {
  await db('session_leases').where({ instance_id: instanceId }).delete();
}
