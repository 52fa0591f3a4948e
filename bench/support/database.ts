/**
 * The gateway's database during a benchmark: a seeded history, and what a
 * run cost it (transactions, row changes and statement times per message).
 */
import type { Gateway } from '../../test/support/gateway.js';

/**
 * A gateway that has been running has history: a fresh, empty database would
 * have Postgres plan the hot statements for tiny tables (sequential scans)
 * and keep those plans until autovacuum's first ANALYZE, a minute or so in.
 */
export async function seedHistory(gw: Gateway, messages: number): Promise<void> {
  await gw.db.raw(`insert into instances (id, description) values ('history', 'seeded by bench:send') on conflict do nothing`);
  await gw.db.raw(
    `insert into messages (instance_id, id, chat_id, from_jid, to_jid, from_me, type, body, status, timestamp)
     select 'history', '3EB0HIST' || g, '9055' || (g % 5000) || '@s.whatsapp.net', null, '9055' || (g % 5000) || '@s.whatsapp.net',
            g % 2 = 0, 'chat', 'history', case when g % 2 = 0 then 'read' else 'received' end, 1700000000 + g
       from generate_series(1, ?::int) g`,
    [messages],
  );
  // Done now, not by autovacuum during the measurement (its CPU would count as the gateway's).
  await gw.db.raw('vacuum analyze');
}

/** Transactions and row changes per table in the gateway's database (pg_stat views). */
export async function databaseWork(gw: Gateway): Promise<Map<string, number>> {
  // The statistics views lag by up to 500 ms; ask for a fresh snapshot.
  await gw.db.raw('select pg_stat_force_next_flush()').catch(() => {});
  const work = new Map<string, number>();
  const [db] = (await gw.db.raw('select xact_commit, sessions from pg_stat_database where datname = current_database()')).rows;
  work.set('commits', Number(db.xact_commit));
  work.set('connections opened', Number(db.sessions));
  for (const t of (await gw.db.raw('select relname, n_tup_ins + n_tup_upd + n_tup_del as changes from pg_stat_user_tables')).rows) {
    work.set(t.relname, Number(t.changes));
  }
  return work;
}

/** The statements that took the most database time during the run, per message. */
export async function statementTimes(gw: Gateway, messages: number): Promise<string> {
  const { rows } = await gw.db.raw(
    `select calls, plans, total_plan_time, total_exec_time, rows, regexp_replace(query, '\\s+', ' ', 'g') as query
       from pg_stat_statements where dbid = (select oid from pg_database where datname = current_database())
      order by total_exec_time desc limit 10`,
  );
  return rows
    .map(
      (r: { calls: string; plans: string; total_plan_time: number; total_exec_time: number; rows: string; query: string }) =>
        `  ${((r.total_exec_time * 1000) / messages).toFixed(0).padStart(6)} µs  ${((r.total_plan_time * 1000) / messages).toFixed(0).padStart(5)} µs  ${(Number(r.calls) / messages).toFixed(2).padStart(5)} ${(Number(r.plans) / messages).toFixed(2).padStart(5)} ${(Number(r.rows) / messages).toFixed(2).padStart(5)}   ${r.query.slice(0, 80)}`,
    )
    .join('\n');
}

export function diffWork(before: Map<string, number>, after: Map<string, number>, messages: number): string {
  return [...after]
    .map(([key, value]) => [key, (value - (before.get(key) ?? 0)) / messages] as const)
    .filter(([, per]) => per >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([key, per]) => `${key} ${per.toFixed(2)}`)
    .join(', ');
}
