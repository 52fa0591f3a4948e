import { preparedQuery, type Db } from './knex.js';

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
export async function claimLease(
  db: Db,
  instanceId: string,
  workerId: string,
  taskQueue: string,
  /** The Temporal task token of the activity holding the session (a sweep fails it if the lease goes stale). */
  taskToken?: Uint8Array,
): Promise<number> {
  const epoch = db.raw(`nextval('session_lease_epochs')`);
  const fields = {
    worker_id: workerId,
    task_queue: taskQueue,
    epoch,
    heartbeat_at: db.fn.now(),
    task_token: taskToken ? Buffer.from(taskToken) : null,
  };
  const [row] = await db('session_leases')
    .insert({ instance_id: instanceId, ...fields })
    .onConflict('instance_id')
    .merge(fields)
    .returning('epoch');
  return Number(row.epoch);
}

/** Renews these leases in one statement; returns the instances whose lease was still theirs (the others were taken over). */
export async function renewLeases(db: Db, leases: Array<{ instanceId: string; epoch: number }>): Promise<Set<string>> {
  if (leases.length === 0) return new Set();
  const rows = await preparedQuery<{ instance_id: string }>(
    db,
    'renew_leases',
    `update session_leases l set heartbeat_at = now()
       from unnest($1::text[], $2::bigint[]) as t(instance_id, epoch)
      where l.instance_id = t.instance_id and l.epoch = t.epoch
      returning l.instance_id`,
    [leases.map((l) => l.instanceId), leases.map((l) => l.epoch)],
  );
  return new Set(rows.map((r) => r.instance_id));
}

/** A lease its holder stopped renewing, with the task token of the activity that held it. */
export interface StaleLease {
  instanceId: string;
  epoch: number;
  taskToken: Buffer;
}

/** The leases not renewed within `staleAfterSeconds` whose holding activity has not been failed yet. */
export async function staleLeases(db: Db, staleAfterSeconds: number): Promise<StaleLease[]> {
  const rows: Array<{ instance_id: string; epoch: string; task_token: Buffer }> = await db('session_leases')
    .whereNotNull('task_token')
    .where('heartbeat_at', '<', db.raw(`now() - ? * interval '1 second'`, [staleAfterSeconds]))
    .select('instance_id', 'epoch', 'task_token');
  return rows.map((r) => ({ instanceId: r.instance_id, epoch: Number(r.epoch), taskToken: r.task_token }));
}

/** The holder of this lease is gone and its activity was failed (or had ended): its token is dropped, so it is failed once. */
export async function forgetLeaseToken(db: Db, lease: { instanceId: string; epoch: number }): Promise<void> {
  await db('session_leases').where({ instance_id: lease.instanceId, epoch: lease.epoch }).update({ task_token: null });
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

/** Says this session worker is up (every quarter of the heartbeat timeout), with the task queue its sessions run on. */
export async function markSessionWorker(db: Db, workerId: string, taskQueue: string): Promise<void> {
  await db('session_workers')
    .insert({ worker_id: workerId, task_queue: taskQueue, seen_at: db.fn.now() })
    .onConflict('worker_id')
    .merge({ task_queue: taskQueue, seen_at: db.fn.now() });
}

/** This session worker is leaving: no session is placed on it any more. */
export async function forgetSessionWorker(db: Db, workerId: string): Promise<void> {
  await db('session_workers').where({ worker_id: workerId }).delete();
}

/** A session worker that is up, and how many sessions it holds (leases renewed within `staleAfterSeconds`). */
export interface SessionWorkerLoad {
  workerId: string;
  taskQueue: string;
  held: number;
}

/** The session workers seen within `upWithinSeconds`, with their sessions, fewest first. */
export async function sessionWorkerLoads(db: Db, upWithinSeconds: number, staleAfterSeconds: number): Promise<SessionWorkerLoad[]> {
  const { rows } = await db.raw(
    `select w.worker_id, w.task_queue,
            (select count(*) from session_leases l
              where l.worker_id = w.worker_id and l.heartbeat_at >= now() - ? * interval '1 second')::int as held
       from session_workers w
      where w.seen_at >= now() - ? * interval '1 second'
      order by held, w.worker_id`,
    [staleAfterSeconds, upWithinSeconds],
  );
  return rows.map((r: { worker_id: string; task_queue: string; held: number }) => ({
    workerId: r.worker_id,
    taskQueue: r.task_queue,
    held: r.held,
  }));
}
