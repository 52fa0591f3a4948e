/**
 * The webhook delivery log: every event recorded for a webhook (db/events.ts)
 * with its delivery state, and what delivery knows of each instance's
 * receiver. Events recorded while no webhook was on (`none`) are in the event
 * log (db/eventLog.ts) but are no deliveries.
 */
import type { Db } from './knex.js';
import { preparedQuery } from './knex.js';
import { recordEvent } from './events.js';

/** NOTIFYed (payload: instance id) by every transaction that records events (migration 010). */
export const WEBHOOK_CHANNEL = 'wa_webhook';

export type DeliveryStatus = 'pending' | 'delivered' | 'failed';

/** A pending event as delivery needs it. */
export interface PendingEvent {
  id: string;
  seq: number;
  event: string;
  data: Record<string, unknown>;
  timestamp: number;
  attempts: number;
  /** Not before this (ms), after a failed attempt; 0: now. */
  notBefore: number;
  /** When its retry window began (ms): when it was recorded, or sent again on request. */
  createdAt: number;
  /** Events of one lane are delivered one at a time, in order: a chat, or '' for the instance's own events. */
  lane: string;
}

/**
 * The instance's oldest pending events, leaving out `exclude` (the ones the
 * caller holds). Every event committed before the query is in its answer:
 * events are taken by state, not by a cursor on seq, since seq is drawn before
 * commit and an event can commit after one with a higher seq.
 */
export async function pendingEvents(db: Db, instanceId: string, limit: number, exclude: string[]): Promise<PendingEvent[]> {
  const rows = await preparedQuery<{
    id: string;
    seq: string;
    event: string;
    data: Record<string, unknown>;
    timestamp: string;
    attempts: number;
    not_before: string | null;
    created_ms: string;
  }>(
    db,
    'webhook_pending',
    `select id, seq, event, data, timestamp, attempts,
            (extract(epoch from next_attempt_at) * 1000)::float8 as not_before,
            (extract(epoch from coalesce(requeued_at, created_at)) * 1000)::float8 as created_ms
       from webhook_events
      where instance_id = $1 and delivery_status = 'pending' and not (id = any($3::uuid[]))
      order by seq limit $2`,
    [instanceId, limit, exclude],
  );
  return rows.map((row) => ({
    id: row.id,
    seq: Number(row.seq),
    event: row.event,
    data: row.data,
    timestamp: Number(row.timestamp),
    attempts: row.attempts,
    notBefore: row.not_before === null ? 0 : Number(row.not_before),
    createdAt: Number(row.created_ms),
    lane: typeof row.data.chatId === 'string' ? row.data.chatId : '',
  }));
}

/** The result of one attempt, as recorded. */
export interface AttemptRecord {
  id: string;
  status: DeliveryStatus;
  /** When the attempt was made (ms); null when none was (the retry window ended). */
  at: number | null;
  statusCode: number | null;
  durationMs: number | null;
  error: string | null;
  /** For a pending event: not before this (ms). */
  nextAttemptAt?: number | null;
}

/** Records many attempts in one statement: the event's state, and the attempt in its log. */
export async function recordAttempts(db: Db, records: AttemptRecord[]): Promise<void> {
  if (records.length === 0) return;
  await preparedQuery(
    db,
    'webhook_record_attempts',
    `with r as (
       select * from unnest($1::uuid[], $2::text[], $3::float8[], $4::int[], $5::int[], $6::text[], $7::float8[])
         as t(id, status, at_ms, status_code, duration_ms, error, next_ms)
     )
     update webhook_events e
        set delivery_status = r.status,
            attempts = e.attempts + case when r.at_ms is null then 0 else 1 end,
            last_status_code = case when r.at_ms is null then e.last_status_code else r.status_code end,
            last_error = r.error,
            delivered_at = case when r.status = 'delivered' then to_timestamp(r.at_ms / 1000) else e.delivered_at end,
            next_attempt_at = case when r.status = 'pending' and r.next_ms is not null then to_timestamp(r.next_ms / 1000) end,
            attempt_log = case when r.at_ms is null then e.attempt_log else e.attempt_log || jsonb_build_array(jsonb_build_object(
              'at', to_char(to_timestamp(r.at_ms / 1000) at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
              'statusCode', r.status_code, 'durationMs', r.duration_ms, 'error', r.error)) end
       from r
      where e.id = r.id`,
    [
      records.map((r) => r.id),
      records.map((r) => r.status),
      records.map((r) => r.at),
      records.map((r) => r.statusCode),
      records.map((r) => (r.durationMs === null ? null : Math.round(r.durationMs))),
      records.map((r) => r.error),
      records.map((r) => r.nextAttemptAt ?? null),
    ],
  );
}

/** Pending events recorded longer than `windowMs` ago become failed (for every instance when `instanceId` is null). */
export async function expireEvents(db: Db, windowMs: number, instanceId: string | null = null, exclude: string[] = []): Promise<number> {
  const { rowCount } = await db.raw(
    `update webhook_events set delivery_status = 'failed', next_attempt_at = null,
            last_error = coalesce(last_error || '; ', '') || 'retry window ended'
      where delivery_status = 'pending' and coalesce(requeued_at, created_at) < now() - ? * interval '1 millisecond'
        and (?::text is null or instance_id = ?) and not (id = any(?::uuid[]))`,
    [windowMs, instanceId, instanceId, exclude],
  );
  return rowCount ?? 0;
}

/**
 * Events older than `retentionMs` are deleted, but for those a webhook still waits for. The greatest cursor
 * deleted is kept (event_log_state), so a stream cannot resume across the gap (db/eventLog.ts).
 */
export async function pruneDeliveries(db: Db, retentionMs: number): Promise<number> {
  const { rows } = await db.raw(
    `with deleted as (
       delete from webhook_events where delivery_status <> 'pending' and created_at < now() - ? * interval '1 millisecond'
       returning txid, seq
     ), last as (
       select txid, seq from deleted order by txid desc, seq desc limit 1
     ), moved as (
       update event_log_state s set pruned_txid = last.txid, pruned_seq = last.seq
         from last where (last.txid, last.seq) > (s.pruned_txid, s.pruned_seq)
     )
     select count(*)::int as n from deleted`,
    [retentionMs],
  );
  return rows[0].n;
}

/** Instances with pending events due now and a webhook switched on, whose delivery is neither running nor backing off. */
export async function instancesToWake(db: Db): Promise<string[]> {
  const rows = await db.raw(
    `select distinct e.instance_id from webhook_events e
       join instance_settings s on s.instance_id = e.instance_id and s.webhook_enabled and s.webhook_url is not null
       left join webhook_receivers r on r.instance_id = e.instance_id
      where e.delivery_status = 'pending' and (e.next_attempt_at is null or e.next_attempt_at <= now())
        and not coalesce(r.active_until > now() or r.retry_at > now(), false)`,
  );
  return rows.rows.map((r: { instance_id: string }) => r.instance_id);
}

/** Of these instances, the ones whose delivery needs a signal for new events (no drain running, not backing off). */
export async function needingWake(db: Db, instanceIds: string[]): Promise<string[]> {
  const rows = await preparedQuery<{ id: string }>(
    db,
    'webhook_needing_wake',
    `select i.id from unnest($1::text[]) as i(id) left join webhook_receivers r on r.instance_id = i.id
      where not coalesce(r.active_until > now() or r.retry_at > now(), false)`,
    [instanceIds],
  );
  return rows.map((r) => r.id);
}

/** A drain is running for `forMs` more (renewed while it runs). */
export async function markDelivering(db: Db, instanceId: string, forMs: number): Promise<void> {
  await db.raw(
    `insert into webhook_receivers (instance_id, active_until) values (?, now() + ? * interval '1 millisecond')
     on conflict (instance_id) do update set active_until = excluded.active_until`,
    [instanceId, forMs],
  );
}

/** The drain ended; new events need a signal again. */
export async function markStopped(db: Db, instanceId: string): Promise<void> {
  await db('webhook_receivers').where({ instance_id: instanceId }).update({ active_until: null });
}

/** The receiver fails: probed again at `retryAt`. Returns since when it has been failing (ms). */
export async function markFailing(db: Db, instanceId: string, retryAt: number, error: string): Promise<number> {
  const { rows } = await db.raw(
    `insert into webhook_receivers (instance_id, retry_at, failing_since, last_error) values (?, to_timestamp(? / 1000.0), now(), ?)
     on conflict (instance_id) do update set retry_at = excluded.retry_at, last_error = excluded.last_error,
       failing_since = coalesce(webhook_receivers.failing_since, excluded.failing_since)
     returning (extract(epoch from failing_since) * 1000)::float8 as since`,
    [instanceId, retryAt, error],
  );
  return Number(rows[0].since);
}

/** The receiver answered again. */
export async function markRecovered(db: Db, instanceId: string): Promise<void> {
  await db('webhook_receivers').where({ instance_id: instanceId }).update({ retry_at: null, failing_since: null, last_error: null });
}

/** `webhook_test`: recorded like any event; its id. */
export function recordTestEvent(db: Db, instanceId: string): Promise<string> {
  return recordEvent(db, instanceId, 'webhook_test', { message: 'Test event from wa-gateway: your webhook receives events.' });
}

export interface DeliveryFilter {
  status?: DeliveryStatus;
  event?: string;
  limit: number;
  page: number;
}

// chat_id: the chat an event concerns, from its data (a message's chat, a group, a caller); null for the instance's own.
const DELIVERY_COLUMNS = `e.id, e.seq, e.event, coalesce(e.data->>'chatId', e.data->>'groupId', e.data->>'from') as chat_id,
  e.delivery_status as status, e.attempts, e.last_status_code, e.last_error, e.created_at, e.delivered_at,
  case when e.delivery_status = 'pending' then greatest(coalesce(e.next_attempt_at, now()), coalesce(r.retry_at, now())) end as next_attempt_at`;

export interface DeliveryRow {
  id: string;
  seq: string;
  event: string;
  chat_id: string | null;
  status: DeliveryStatus;
  attempts: number;
  last_status_code: number | null;
  last_error: string | null;
  created_at: Date;
  delivered_at: Date | null;
  next_attempt_at: Date | null;
  data?: Record<string, unknown>;
  attempt_log?: Array<{ at: string; statusCode: number | null; durationMs: number | null; error: string | null }>;
}

/** The instance's deliveries, newest first, with the total matching the filter. */
export async function listDeliveries(db: Db, instanceId: string, filter: DeliveryFilter): Promise<{ rows: DeliveryRow[]; total: number }> {
  const where = (q: ReturnType<Db>) => {
    q.where('e.instance_id', instanceId).whereNot('e.delivery_status', 'none');
    if (filter.status) q.where('e.delivery_status', filter.status);
    if (filter.event) q.where('e.event', filter.event);
    return q;
  };
  const [rows, counted] = await Promise.all([
    where(db('webhook_events as e'))
      .leftJoin('webhook_receivers as r', 'r.instance_id', 'e.instance_id')
      .select(db.raw(DELIVERY_COLUMNS))
      .orderBy('e.seq', 'desc')
      .limit(filter.limit)
      .offset((filter.page - 1) * filter.limit),
    where(db('webhook_events as e')).count<Array<{ count: string }>>({ count: '*' }),
  ]);
  return { rows: rows as DeliveryRow[], total: Number(counted[0]?.count ?? 0) };
}

export async function getDelivery(db: Db, instanceId: string, id: string): Promise<DeliveryRow | undefined> {
  return db('webhook_events as e')
    .leftJoin('webhook_receivers as r', 'r.instance_id', 'e.instance_id')
    .where({ 'e.instance_id': instanceId, 'e.id': id })
    .whereNot('e.delivery_status', 'none')
    .first(db.raw(`${DELIVERY_COLUMNS}, e.data, e.attempt_log`));
}

/**
 * Makes a delivery pending again, due now (same id, so a receiver can still drop a duplicate), and
 * tells a running drain; false when unknown.
 */
export async function requeueDelivery(db: Db, instanceId: string, id: string): Promise<boolean> {
  return db.transaction(async (trx) => {
    const updated = await trx('webhook_events')
      .where({ instance_id: instanceId, id })
      .whereNot('delivery_status', 'none')
      .update({ delivery_status: 'pending', next_attempt_at: null, requeued_at: trx.fn.now() });
    if (updated > 0) await trx.raw('select pg_notify(?, ?)', [WEBHOOK_CHANNEL, instanceId]);
    return updated > 0;
  });
}
