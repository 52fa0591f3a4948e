/**
 * The event log as streams and brokers read it: every recorded event
 * (db/events.ts) in the order it became visible, by cursor.
 *
 * A cursor is (txid, seq): the recording transaction's id, then the event's
 * seq. Only events of transactions below the oldest one still running are
 * read (`pg_snapshot_xmin`), so nothing can later appear before a cursor
 * already passed: a reader that goes on from its last cursor misses nothing
 * and reads nothing twice. The price: a transaction left open holds back
 * every event recorded after it began, until it ends.
 */
import type { Db } from './knex.js';
import { preparedQuery } from './knex.js';

/** NOTIFYed (no payload) by every transaction that records events (migration 023). */
export const EVENTS_CHANNEL = 'wa_events';

export interface Cursor {
  txid: bigint;
  seq: bigint;
}

/** The cursor as clients see it: opaque, `<txid>-<seq>`. */
export const formatCursor = (c: Cursor) => `${c.txid}-${c.seq}`;

export function parseCursor(text: string): Cursor | null {
  const m = /^(\d{1,19})-(\d{1,19})$/.exec(text.trim());
  if (!m) return null;
  const cursor = { txid: BigInt(m[1]!), seq: BigInt(m[2]!) };
  return cursor.txid < 2n ** 63n && cursor.seq < 2n ** 63n ? cursor : null;
}

export const compareCursors = (a: Cursor, b: Cursor) =>
  a.txid < b.txid ? -1 : a.txid > b.txid ? 1 : a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0;

export const laterCursor = (a: Cursor, b: Cursor) => (compareCursors(a, b) >= 0 ? a : b);

export interface LoggedEvent {
  cursor: Cursor;
  id: string;
  seq: number;
  instanceId: string;
  event: string;
  data: Record<string, unknown>;
  timestamp: number;
}

export interface EventPage {
  events: LoggedEvent[];
  /**
   * Every event before this cursor that matches the query has been read once
   * the page is shorter than asked: the last event read or, past it, the
   * start of the transactions still running.
   */
  through: Cursor;
  /**
   * Events after `after` are committed but not readable yet: they wait behind
   * a transaction still running, and no notification will say when it ends.
   */
  held: boolean;
}

export interface ReadOptions {
  after: Cursor;
  limit: number;
  instanceId?: string | null;
  types?: readonly string[] | null;
}

/** The events after `after`, oldest first, up to `limit`. */
export async function readEvents(db: Db, options: ReadOptions): Promise<EventPage> {
  const rows = await preparedQuery<{
    txid: string | null;
    seq: string | null;
    id: string | null;
    instance_id: string;
    event: string;
    data: Record<string, unknown>;
    timestamp: string;
    horizon: string;
    held: boolean;
  }>(
    db,
    'event_log_read',
    // The horizon comes with every row, and alone in a row of its own for a page with no events.
    `with x as (select pg_snapshot_xmin(pg_current_snapshot()) as xmin),
     h as (select x.xmin, exists (select 1 from webhook_events w where (w.txid, w.seq) > ($1::xid8, $2::bigint) and w.txid >= x.xmin) as held
             from x)
     (select e.txid::text, e.seq::text, e.id, e.instance_id, e.event, e.data, e.timestamp, h.xmin::text as horizon, h.held
        from webhook_events e, h
       where (e.txid, e.seq) > ($1::xid8, $2::bigint) and e.txid < h.xmin
         and ($4::text is null or e.instance_id = $4) and ($5::text[] is null or e.event = any($5))
       order by e.txid, e.seq limit $3)
     union all
     select null, null, null, null, null, null, null, h.xmin::text, h.held from h`,
    [options.after.txid.toString(), options.after.seq.toString(), options.limit, options.instanceId ?? null, options.types ?? null],
  );
  const horizon = BigInt(rows[0]!.horizon);
  const events = rows
    .filter((row) => row.id !== null)
    .map((row) => ({
      cursor: { txid: BigInt(row.txid!), seq: BigInt(row.seq!) },
      id: row.id!,
      seq: Number(row.seq),
      instanceId: row.instance_id,
      event: row.event,
      data: row.data,
      timestamp: Number(row.timestamp),
    }))
    .sort((a, b) => compareCursors(a.cursor, b.cursor));
  const last = events[events.length - 1]?.cursor ?? options.after;
  const through = events.length < options.limit ? laterCursor(last, { txid: horizon, seq: 0n }) : last;
  return { events, through, held: rows[0]!.held };
}

/**
 * Where "from now on" starts: the oldest transaction still running. Every
 * event readable now is before it, every later one after it.
 */
export async function headCursor(db: Db): Promise<Cursor> {
  const { rows } = await db.raw('select pg_snapshot_xmin(pg_current_snapshot())::text as xmin');
  return { txid: BigInt(rows[0].xmin), seq: 0n };
}

/** The greatest cursor the retention deleted: resuming from before it would skip events. */
export async function prunedThrough(db: Db): Promise<Cursor> {
  const row = await db('event_log_state').first(db.raw('pruned_txid::text as txid, pruned_seq::text as seq'));
  return row ? { txid: BigInt(row.txid), seq: BigInt(row.seq) } : { txid: 0n, seq: 0n };
}
