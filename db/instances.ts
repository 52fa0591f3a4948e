import type { Knex } from 'knex';
import { Coalescer, coalescersBy } from './coalescer.js';
import { preparedQuery, type Db } from './knex.js';
import type { Account, ConnectionStatus } from '../whatsapp/session.js';
import { recordEvent } from './events.js';
import { CHATBOT_CHANNEL } from './chatbot.js';
import { SETTINGS_CHANNEL } from './settings.js';

export interface InstanceRow {
  id: string;
  description: string | null;
  status: ConnectionStatus;
  qr: string | null;
  account: Account | null;
  status_changed_at: Date;
  created_at: Date;
  /** Why the session last failed to connect; cleared when it opens. */
  last_error?: string | null;
}

export async function listInstances(db: Db): Promise<InstanceRow[]> {
  return db<InstanceRow>('instances').select('*').orderBy('created_at').orderBy('id');
}

const lookups = coalescersBy(
  (db: Db) =>
    new Coalescer(async (ids: string[]) => {
      const rows = await preparedQuery<InstanceRow>(db, 'get_instances', 'select * from instances where id = any($1::text[])', [
        [...new Set(ids)],
      ]);
      const byId = new Map(rows.map((row) => [row.id, row]));
      return ids.map((wanted) => byId.get(wanted));
    }),
);

/** On every instance-scoped request: concurrent lookups share one (prepared) query. */
export function getInstance(db: Db, id: string): Promise<InstanceRow | undefined> {
  return lookups(db).submit(id);
}

/** Creates the instance and its settings; false when the id is taken. */
export async function createInstance(db: Db, id: string, description?: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    const inserted = await trx('instances')
      .insert({ id, description: description ?? null })
      .onConflict('id')
      .ignore()
      .returning('id');
    if (inserted.length === 0) return false;
    await trx('instance_settings').insert({ instance_id: id });
    return true;
  });
}

/** Deletes the instance; every table that holds its data cascades. */
export async function deleteInstance(db: Db, id: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    const deleted = await trx('instances').where({ id }).delete();
    // Its rules and settings went with it: workers forget what they cached (a new instance may take the id).
    if (deleted) await trx.raw('select pg_notify(?, ?), pg_notify(?, ?)', [CHATBOT_CHANNEL, id, SETTINGS_CHANNEL, id]);
    return deleted > 0;
  });
}

export interface ConnectionChange {
  status: ConnectionStatus;
  qr?: string | null;
  account?: Account | null;
  /** Why the connection failed (null: it opened). */
  lastError?: string | null;
}

/**
 * Records what the session reports. A change of status also writes a
 * `connection_status` event to the webhook outbox, in the same transaction.
 */
export async function recordConnection(db: Db, instanceId: string, change: ConnectionChange): Promise<void> {
  await db.transaction(async (trx) => {
    const current = await trx<InstanceRow>('instances').where({ id: instanceId }).forUpdate().first();
    if (current) await applyConnection(trx, current, change); // else deleted meanwhile
  });
}

/** Writes a connection change to the (locked) instance row, with its `connection_status` event if the status moved. */
async function applyConnection(trx: Knex.Transaction, current: InstanceRow, change: ConnectionChange): Promise<void> {
  const instanceId = current.id;
  const patch: Record<string, unknown> = {};
  if (change.qr !== undefined) patch.qr = change.qr;
  if (change.account !== undefined) patch.account = change.account === null ? null : JSON.stringify(change.account);
  if (change.lastError !== undefined && change.lastError !== (current.last_error ?? null))
    patch.last_error = change.lastError?.slice(0, 500) ?? null;
  const statusChanged = current.status !== change.status;
  if (statusChanged) {
    patch.status = change.status;
    patch.status_changed_at = trx.fn.now();
  }
  if (Object.keys(patch).length > 0) await trx('instances').where({ id: instanceId }).update(patch);
  if (statusChanged) {
    const account = change.account !== undefined ? change.account : current.account;
    await recordEvent(trx, instanceId, 'connection_status', {
      status: webhookStatus(change.status),
      account: account ?? null,
    });
  }
}

/**
 * Instances recorded `open` whose session no worker holds any more are
 * recorded `connecting`, with their `connection_status` event, until a
 * worker takes the session up again. Returns their ids. No worker holds it
 * when its lease is gone, or was not renewed for `staleAfterSeconds` and has
 * no task token left: the sweep took it when it failed the holder's activity
 * (a stale lease that still has one may be renewed yet, as after a database
 * outage; a lease from before task tokens counts as lost once stale).
 */
export async function markLostSessions(db: Db, staleAfterSeconds: number): Promise<string[]> {
  const freshLease = (q: Knex.QueryBuilder) =>
    q
      .select(db.raw('1'))
      .from('session_leases as l')
      .whereRaw('l.instance_id = i.id')
      .where((held) =>
        held.where('l.heartbeat_at', '>=', db.raw(`now() - ? * interval '1 second'`, [staleAfterSeconds])).orWhereNotNull('l.task_token'),
      );
  const lost: string[] = (await db('instances as i').where('i.status', 'open').whereNotExists(freshLease).select('i.id')).map((r) => r.id);
  const marked: string[] = [];
  for (const id of lost) {
    await db.transaction(async (trx) => {
      // Checked again under the instance's lock: a worker may have taken the session up meanwhile.
      const current: InstanceRow | undefined = await trx('instances as i')
        .where('i.id', id)
        .where('i.status', 'open')
        .whereNotExists(freshLease)
        .forUpdate()
        .first('i.*');
      if (!current) return;
      await applyConnection(trx, current, { status: 'connecting' });
      marked.push(id);
    });
  }
  return marked;
}

/** The webhook's wording: `connected` where the API says `open`. */
export function webhookStatus(status: ConnectionStatus): 'connected' | 'connecting' | 'disconnected' {
  return status === 'open' ? 'connected' : status;
}

export async function clearMessages(db: Db, instanceId: string): Promise<number> {
  return db.transaction(async (trx): Promise<number> => {
    await trx('poll_votes').where({ instance_id: instanceId }).delete();
    return trx('messages').where({ instance_id: instanceId }).delete();
  });
}

/** Of these instances, at most `limit` whose sessions are open (connected to an account). */
export async function openInstances(db: Db, ids: string[], limit: number): Promise<string[]> {
  if (ids.length === 0 || limit <= 0) return [];
  return (await db('instances').whereIn('id', ids).where({ status: 'open' }).orderBy('id').limit(limit).pluck('id')) as string[];
}
