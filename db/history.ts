/**
 * The message history as the API reads it: a page of messages (with a total
 * that stays cheap on large histories), the counts per status, and the
 * statuses (stories).
 */
import type { Db } from './knex.js';
import type { MessageRow } from './messages.js';
import { STATUS_CHAT } from '../domain/recipients.js';

export type HistoryFilter = { status?: string; chatId?: string };

/**
 * Up to this many matching messages, a page's `total` is an exact count; beyond, it is
 * the planner's estimate, kept within what the page proves. The contract asks for no
 * total, and an exact one means counting every match on every request (85 ms with both
 * cores busy, per page, for an instance with a million messages: bench/history.ts).
 */
export const EXACT_TOTAL_UP_TO = 10_000;

/**
 * The SQL behind a history page, exported so `bench/history.ts` can EXPLAIN it (api/messages.ts runs it).
 * `rows` is the page plus one message (to know whether more follow); its OFFSET walks
 * the skipped matches in an index only, and reads just the page's rows from the table.
 * `count` counts matches up to EXACT_TOTAL_UP_TO + 1; `estimate` is the planner's guess.
 */
export function historyQueries(db: Db, instanceId: string, filter: HistoryFilter, limit: number, pageNumber: number) {
  const matches = db<MessageRow>('messages').where({ instance_id: instanceId });
  if (filter.status) matches.andWhere({ status: filter.status as MessageRow['status'] });
  if (filter.chatId) matches.andWhere({ chat_id: filter.chatId });
  const pageSeqs = matches
    .clone()
    .select('seq')
    .orderBy('seq', 'desc')
    .limit(limit + 1)
    .offset((pageNumber - 1) * limit);
  const { sql, bindings } = matches.clone().select(db.raw('1')).toSQL();
  return {
    rows: db<MessageRow>('messages').whereIn('seq', pageSeqs).orderBy('seq', 'desc'),
    count: db.count<{ count: string }[]>('* as count').from(
      matches
        .clone()
        .select(db.raw('1'))
        .limit(EXACT_TOTAL_UP_TO + 1)
        .as('matches'),
    ),
    estimate: db.raw<{ rows: { 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }[] }>(`explain (format json) ${sql}`, bindings),
  };
}

/** Messages per status, as `GET .../messages/statistics` counts them. */
export function statisticsQuery(db: Db, instanceId: string) {
  return db('messages')
    .where({ instance_id: instanceId })
    .select('status')
    .count<{ status: string; count: string }[]>('* as count')
    .groupBy('status');
}

/** A page of statuses (stories), newest first: the contacts' and the account's own, or one poster's (`from`). */
export async function statusPage(
  db: Db,
  instanceId: string,
  filter: { from?: string },
  limit: number,
  pageNumber: number,
): Promise<{ rows: MessageRow[]; total: number }> {
  const matches = db<MessageRow>('messages').where({ instance_id: instanceId, chat_id: STATUS_CHAT });
  if (filter.from) matches.andWhere({ from_jid: filter.from });
  const [rows, [{ count }]] = await Promise.all([
    matches
      .clone()
      .orderBy('seq', 'desc')
      .limit(limit)
      .offset((pageNumber - 1) * limit),
    matches.clone().count<{ count: string }[]>('* as count'),
  ]);
  return { rows, total: Number(count) };
}
