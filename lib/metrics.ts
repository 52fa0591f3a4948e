/**
 * Prometheus metrics (prom-client). Each process has its own registry: the
 * API serves it at `/metrics`, a worker on WORKER_METRICS_PORT. Counters and
 * histograms move where things happen; the gauges that describe stored state
 * (outbox depth, session states, campaigns, schedules) are read from Postgres
 * when scraped, by the API only, so several workers do not report them twice.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Db } from '../db/knex.js';
import { presentedToken, sameToken } from './presentedToken.js';

export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'wa_' });

export const httpRequests = new Counter({
  name: 'wa_http_requests_total',
  help: 'API requests by method, route and status',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});
export const httpDuration = new Histogram({
  name: 'wa_http_request_duration_seconds',
  help: 'API request latency by method and route',
  labelNames: ['method', 'route'] as const,
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
  registers: [registry],
});
export const sendsAccepted = new Counter({
  name: 'wa_sends_total',
  help: 'Send requests by message type and how they were answered (sent, pending, failed)',
  labelNames: ['type', 'outcome'] as const,
  registers: [registry],
});
export const messagesSent = new Counter({
  name: 'wa_outbox_messages_total',
  help: 'Messages the outbox put on the socket (sent) or gave up on (failed)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
export const sendLatency = new Histogram({
  name: 'wa_send_latency_seconds',
  help: 'From a message accepted to it on the socket',
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
});
export const webhookAttempts = new Counter({
  name: 'wa_webhook_attempts_total',
  help: 'Webhook delivery attempts by outcome (delivered, retry, failed)',
  labelNames: ['outcome'] as const,
  registers: [registry],
});
export const webhookLag = new Histogram({
  name: 'wa_webhook_delivery_lag_seconds',
  help: 'From an event recorded to its delivery',
  buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3600],
  registers: [registry],
});

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
  byStatus('wa_instances', 'Instances by connection status', 'instances');
  byStatus('wa_campaigns', 'Bulk campaigns by status', 'bulk_jobs');
  byStatus('wa_scheduled_messages', 'Scheduled messages by status', 'scheduled_messages');
}

/** A worker's metrics on their own port (0: none). */
export function serveMetrics(
  port: number,
  token: () => Promise<string | undefined>,
  onError: (err: Error) => void,
): Promise<Server | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  const server = createServer(async (req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    const expected = await token().catch(() => undefined);
    if (!expected || !sameToken(presentedToken(req.headers), expected))
      return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"missing or invalid metrics token"}');
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message })),
    );
  });
  // A port that is taken (another worker on this machine) costs the metrics, not the worker.
  return new Promise((resolve) => {
    server.once('error', (err) => {
      onError(err);
      resolve(undefined);
    });
    server.listen(port, () => resolve(server));
  });
}
