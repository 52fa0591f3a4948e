/**
 * Where each broker sink (activities/eventSinks.ts) stands in the event log:
 * its cursor, advanced only once the broker confirmed what came before it,
 * and whether it fails now.
 */
import type { Db } from './knex.js';
import { type Cursor, headCursor } from './eventLog.js';

/** The sink's cursor; a sink seen for the first time starts at the log's end (events from now on). */
export async function sinkCursor(db: Db, name: string): Promise<Cursor> {
  const head = await headCursor(db);
  await db.raw('insert into event_sinks (name, txid, seq) values (?, ?::xid8, ?) on conflict (name) do nothing', [
    name,
    head.txid.toString(),
    head.seq.toString(),
  ]);
  const row = await db('event_sinks').where({ name }).first(db.raw('txid::text as txid, seq::text as seq'));
  return { txid: BigInt(row.txid), seq: BigInt(row.seq) };
}

/** `count` events up to `cursor` were confirmed by the broker. */
export async function advanceSink(db: Db, name: string, cursor: Cursor, count: number): Promise<void> {
  await db.raw(
    `update event_sinks set txid = ?::xid8, seq = ?, published = published + ?,
            last_published_at = case when ? > 0 then now() else last_published_at end,
            failing_since = null, last_error = null, updated_at = now()
      where name = ?`,
    [cursor.txid.toString(), cursor.seq.toString(), count, count, name],
  );
}

export async function markSinkFailing(db: Db, name: string, error: string): Promise<void> {
  await db.raw(`update event_sinks set failing_since = coalesce(failing_since, now()), last_error = ?, updated_at = now() where name = ?`, [
    error.slice(0, 500),
    name,
  ]);
}

export async function markSinkOk(db: Db, name: string): Promise<void> {
  await db.raw(
    `update event_sinks set failing_since = null, last_error = null, updated_at = now() where name = ? and failing_since is not null`,
    [name],
  );
}

export interface SinkState {
  name: string;
  ok: boolean;
  failingSince: string | null;
  lastError: string | null;
  published: number;
  lastPublishedAt: string | null;
  /** Events recorded and not yet published (counted up to 100,000). */
  behind: number;
}

export async function sinkStates(db: Db): Promise<SinkState[]> {
  const { rows } = await db.raw(
    `select s.name, s.failing_since, s.last_error, s.published, s.last_published_at,
            (select count(*) from (select 1 from webhook_events e where (e.txid, e.seq) > (s.txid, s.seq) limit 100000) b)::int as behind
       from event_sinks s order by s.name`,
  );
  return rows.map((r: Record<string, any>) => ({
    name: r.name,
    ok: r.failing_since === null,
    failingSince: r.failing_since ? new Date(r.failing_since).toISOString() : null,
    lastError: r.last_error,
    published: Number(r.published),
    lastPublishedAt: r.last_published_at ? new Date(r.last_published_at).toISOString() : null,
    behind: r.behind,
  }));
}
