/**
 * Prometheus metrics (prom-client). Each process has its own registry: the
 * API serves it at `/metrics`, a worker on WORKER_METRICS_PORT. Counters and
 * histograms move where things happen; the gauges that describe stored state
 * (outbox depth, session states, campaigns, schedules) are read from Postgres
 * when scraped (db/stats.ts), by the API only, so several workers do not
 * report them twice.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

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
export const sessionsUnresponsive = new Counter({
  name: 'wa_sessions_unresponsive_total',
  help: 'Connections that looked open but heard nothing (sends without the server ack, no answer to a ping), ended and reconnected',
  registers: [registry],
});
export const sendLatency = new Histogram({
  name: 'wa_send_latency_seconds',
  help: 'From a message accepted to it on the socket',
  buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300],
  registers: [registry],
});
export const eventStreams = new Gauge({
  name: 'wa_event_streams',
  help: 'Event streams open on this API process, by transport (sse, websocket)',
  labelNames: ['transport'] as const,
  registers: [registry],
});
export const streamedEvents = new Counter({
  name: 'wa_event_stream_events_total',
  help: 'Events written to event streams, by transport',
  labelNames: ['transport'] as const,
  registers: [registry],
});
export const streamsCut = new Counter({
  name: 'wa_event_streams_cut_total',
  help: 'Event streams cut off because their client did not keep up',
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
