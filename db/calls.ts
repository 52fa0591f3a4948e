/** Incoming calls: recorded once each, with how they ended, and a `call` webhook event for every change. */
import type { Db } from './knex.js';
import { recordEvent } from './events.js';

/** Where a call stands: ringing (offered), declined (here or on another device), missed, or answered on another device. */
export type CallState = 'offered' | 'rejected' | 'missed' | 'accepted-elsewhere';

export interface CallRecord {
  id: string;
  /** The caller (phone-number JID where WhatsApp tells one). */
  from: string;
  /** The caller's LID, when WhatsApp named the caller by it. */
  fromLid?: string;
  video: boolean;
  group: boolean;
  status: CallState;
  /** Unix seconds, when WhatsApp offered the call. */
  timestamp: number;
}

interface CallRow {
  id: string;
  from_jid: string;
  from_lid: string | null;
  video: boolean;
  is_group: boolean;
  status: CallState;
  timestamp: string | number;
}

const toRecord = (row: CallRow): CallRecord => ({
  id: row.id,
  from: row.from_jid,
  ...(row.from_lid ? { fromLid: row.from_lid } : {}),
  video: row.video,
  group: row.is_group,
  status: row.status,
  timestamp: Number(row.timestamp),
});

/** A new call with its `call` event, in one transaction; false (and nothing written) when it was recorded before. */
export async function recordCall(db: Db, instanceId: string, call: CallRecord): Promise<boolean> {
  return db.transaction(async (trx) => {
    const inserted = await trx('calls')
      .insert({
        instance_id: instanceId,
        id: call.id,
        from_jid: call.from,
        from_lid: call.fromLid ?? null,
        video: call.video,
        is_group: call.group,
        status: call.status,
        timestamp: call.timestamp,
      })
      .onConflict(['instance_id', 'id'])
      .ignore()
      .returning('id');
    if (inserted.length === 0) return false;
    await recordEvent(trx, instanceId, 'call', { ...call });
    return true;
  });
}

/**
 * How a call that was still ringing ended, with its `call` event. A call that ended before (declined here, then
 * WhatsApp's terminate) keeps its first ending; returns the call when it changed.
 */
export async function endCall(db: Db, instanceId: string, id: string, status: Exclude<CallState, 'offered'>): Promise<CallRecord | null> {
  return db.transaction(async (trx) => {
    const [row] = await trx('calls')
      .where({ instance_id: instanceId, id, status: 'offered' })
      .update({ status, updated_at: trx.fn.now() })
      .returning(['id', 'from_jid', 'from_lid', 'video', 'is_group', 'status', 'timestamp']);
    if (!row) return null;
    const call = toRecord(row as CallRow);
    await recordEvent(trx, instanceId, 'call', { ...call });
    return call;
  });
}

/**
 * Calls still ringing `afterSeconds` after WhatsApp offered them (their end never reached the gateway: the
 * socket dropped, or the worker holding it died meanwhile) become missed, each with its `call` event; returns
 * how many. WhatsApp stops ringing after about a minute.
 */
export async function missUnendedCalls(db: Db, afterSeconds: number): Promise<number> {
  return db.transaction(async (trx) => {
    const rows = (await trx('calls')
      .where('status', 'offered')
      .where('timestamp', '<', Math.floor(Date.now() / 1000) - afterSeconds)
      .update({ status: 'missed', updated_at: trx.fn.now() })
      .returning(['instance_id', 'id', 'from_jid', 'from_lid', 'video', 'is_group', 'status', 'timestamp'])) as Array<
      CallRow & { instance_id: string }
    >;
    for (const row of rows) await recordEvent(trx, row.instance_id, 'call', { ...toRecord(row) });
    return rows.length;
  });
}

/** The instance's most recent calls, newest first; `before` (unix seconds) pages back. */
export async function listCalls(db: Db, instanceId: string, options: { limit: number; before?: number }): Promise<CallRecord[]> {
  const rows = await db('calls')
    .where({ instance_id: instanceId })
    .modify((q) => (options.before !== undefined ? q.where('timestamp', '<', options.before) : q))
    .orderBy([
      { column: 'timestamp', order: 'desc' },
      { column: 'id', order: 'desc' },
    ])
    .limit(options.limit)
    .select('id', 'from_jid', 'from_lid', 'video', 'is_group', 'status', 'timestamp');
  return (rows as CallRow[]).map(toRecord);
}
