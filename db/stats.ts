/**
 * The metrics read from Postgres when scraped: the pool's connections, and
 * the gauges that describe stored state (outbox depth, sessions per worker,
 * instances, campaigns, scheduled messages), in the process's registry (lib/metrics.ts).
 */
import { Gauge } from 'prom-client';
import { registry } from '../lib/metrics.js';
import type { Db } from './knex.js';
import { sinkStates } from './eventSinks.js';

/** The pool's connections in use and free, for a process's database handle. */
export function watchPool(db: Db, name: string): void {
  const pool = () => (db.client as { pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number } }).pool;
  new Gauge({
    name: `wa_db_pool_${name}_connections`,
    help: `Postgres connections of the ${name} pool, by state`,
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const p = pool();
      if (!p) return;
      this.set({ state: 'used' }, p.numUsed());
      this.set({ state: 'free' }, p.numFree());
      this.set({ state: 'waiting' }, p.numPendingAcquires());
    },
  });
}

/** The gauges read from Postgres at scrape time (the API's registry). */
export function watchStoredState(db: Db): void {
  new Gauge({
    name: 'wa_outbox_pending',
    help: 'Messages waiting to be sent, per instance',
    labelNames: ['instance'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const rows = await db('messages')
        .where({ status: 'pending', from_me: true })
        .groupBy('instance_id')
        .select('instance_id')
        .count('* as n');
      for (const row of rows as Array<{ instance_id: string; n: string }>) this.set({ instance: row.instance_id }, Number(row.n));
    },
  });
  const byStatus = (name: string, help: string, table: string) =>
    new Gauge({
      name,
      help,
      labelNames: ['status'] as const,
      registers: [registry],
      async collect() {
        this.reset();
        const rows = await db(table).groupBy('status').select('status').count('* as n');
        for (const row of rows as Array<{ status: string; n: string }>) this.set({ status: row.status }, Number(row.n));
      },
    });
  new Gauge({
    name: 'wa_event_sink_up',
    help: 'Whether each broker sink (amqp, nats) reaches its broker: 1, or 0 while it fails',
    labelNames: ['sink'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const row of await db('event_sinks').select('name', 'failing_since')) this.set({ sink: row.name }, row.failing_since ? 0 : 1);
    },
  });
  new Gauge({
    name: 'wa_event_sink_behind',
    help: 'Events recorded and not yet published, per broker sink (counted up to 100,000)',
    labelNames: ['sink'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      for (const state of await sinkStates(db)) this.set({ sink: state.name }, state.behind);
    },
  });
  new Gauge({
    name: 'wa_sessions_held',
    help: 'Sessions each session worker holds (its leases), with the session workers that are up and hold none',
    labelNames: ['worker'] as const,
    registers: [registry],
    async collect() {
      this.reset();
      const { rows } = await db.raw(
        `select worker_id, sum(n)::int as n from (
           select worker_id, count(*) as n from session_leases group by worker_id
           union all select worker_id, 0 from session_workers
         ) held group by worker_id`,
      );
      for (const row of rows as Array<{ worker_id: string; n: number }>) this.set({ worker: row.worker_id }, row.n);
    },
  });
  byStatus('wa_instances', 'Instances by connection status', 'instances');
  byStatus('wa_campaigns', 'Bulk campaigns by status', 'bulk_jobs');
  byStatus('wa_scheduled_messages', 'Scheduled messages by status', 'scheduled_messages');
}
