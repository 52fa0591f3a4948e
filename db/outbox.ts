/**
 * Whether an instance's outbox is being drained right now. A drain (the
 * outbox activity on the worker holding the socket) keeps taking new
 * messages as they are NOTIFYed on OUTBOX_CHANNEL; while one is active, the
 * API needs no Temporal signal for a new message.
 *
 * The protocol that keeps a message from being stranded: the statement that
 * stores a message also reads the flag under a share lock (insertOutgoing);
 * a drain clears the flag (which waits for that lock) and only then looks for
 * pending messages one last time. So either the API sees the flag cleared
 * and signals the outbox workflow, or the drain sees the message and sends
 * it. (A request that stored nothing new reads the flag after the fact.)
 */
import { preparedQuery, type Db } from './knex.js';

export const OUTBOX_CHANNEL = 'wa_outbox';

/** The drain is active for `forMs` more (renewed while it runs). */
export async function markDraining(db: Db, instanceId: string, workerId: string, forMs: number): Promise<void> {
  await db('outbox_drains')
    .insert({ instance_id: instanceId, worker_id: workerId, active_until: db.raw(`now() + ? * interval '1 millisecond'`, [forMs]) })
    .onConflict('instance_id')
    .merge();
}

export async function markIdle(db: Db, instanceId: string): Promise<void> {
  await db('outbox_drains').where({ instance_id: instanceId }).update({ active_until: null });
}

/** True while a live drain will pick up new messages of the instance by itself. */
export async function drainActive(db: Db, instanceId: string): Promise<boolean> {
  const [row] = await preparedQuery<{ active: boolean }>(
    db,
    'drain_active',
    'select active_until > now() as active from outbox_drains where instance_id = $1',
    [instanceId],
  );
  return row?.active === true;
}

/**
 * Connected instances with outgoing messages pending for longer than
 * `olderThanMs` and no drain running: their outbox was never woken (the wake
 * failed while Temporal was unreachable and the process that tried it ended).
 */
export async function stalledOutboxes(db: Db, olderThanMs: number): Promise<string[]> {
  const rows = await db('instances as i')
    .where('i.status', 'open')
    .whereExists((q) =>
      q
        .select(db.raw('1'))
        .from('messages as m')
        .whereRaw('m.instance_id = i.id')
        .where('m.status', 'pending')
        .where('m.from_me', true)
        .where('m.created_at', '<', db.raw(`now() - ? * interval '1 millisecond'`, [olderThanMs])),
    )
    .whereNotExists((q) =>
      q.select(db.raw('1')).from('outbox_drains as d').whereRaw('d.instance_id = i.id').where('d.active_until', '>', db.fn.now()),
    )
    .select('i.id');
  return rows.map((r: { id: string }) => r.id);
}
