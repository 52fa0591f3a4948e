/** Docs of the operator's routes: health, readiness, metrics, these docs, and instance tokens. */
import type { RouteDocs } from '../openapi.js';

const report = {
  status: 'ok',
  database: { ok: true, latencyMs: 2 },
  temporal: { ok: true, latencyMs: 4 },
};

export const operationDocs: RouteDocs = {
  'GET /health': {
    summary: 'Liveness',
    description: '200 while the API process serves, with the readiness report (so a restart is not asked for because Postgres is down).',
    public: true,
    responses: { 200: { description: 'Serving', example: report } },
  },
  'GET /ready': {
    summary: 'Readiness: Postgres and Temporal answer',
    description:
      'With broker sinks configured (EVENTS_AMQP_URL, EVENTS_NATS_URL), `sinks` says how each stands: `{ "amqp": { "ok", "failingSince", "lastError", "published", "lastPublishedAt", "behind" } }`. A sink whose broker is unreachable is `ok: false` with its error; it does not make the API unready, since the API serves without it.',
    public: true,
    responses: {
      200: { description: 'Ready', example: report },
      503: {
        description: 'Postgres or Temporal does not answer; the report says which',
        example: {
          status: 'unavailable',
          database: { ok: true, latencyMs: 2 },
          temporal: { ok: false, latencyMs: 3501, error: 'no answer within 3500 ms' },
        },
      },
    },
  },
  'GET /metrics': {
    summary: 'Prometheus metrics of this API process',
    description: 'Needs METRICS_TOKEN (the admin token when unset), as a Bearer token. Each worker serves its own on WORKER_METRICS_PORT.',
    security: 'metricsToken',
    responses: {
      200: { description: 'Prometheus text format', contentType: 'text/plain' },
      401: { description: 'Missing or wrong metrics token', example: { error: 'missing or invalid metrics token', code: 'UNAUTHORIZED' } },
    },
  },
  'GET /api/openapi.json': {
    summary: 'This OpenAPI 3.1 document',
    tag: 'Operations',
    public: true,
    responses: { 200: 'The document' },
  },
  'GET /api/docs': {
    summary: 'The interactive API docs page (HTML)',
    description: 'Try requests from the browser: "Authorize" takes the token. `/api/docs` redirects to `/api/docs/`.',
    tag: 'Operations',
    public: true,
    responses: { 200: { description: 'The page', contentType: 'text/html' }, 301: 'To `/api/docs/`' },
  },
  'GET /api/info': {
    summary: 'About this gateway',
    description:
      'Its version, and the Temporal UI where campaigns, schedules and webhook deliveries run as workflows (TEMPORAL_UI_URL; null when not set).',
    tag: 'Operations',
    responses: {
      200: { description: 'OK', example: { version: '0.1.0', temporalUiUrl: 'http://localhost:8233', temporalNamespace: 'default' } },
    },
  },
  'POST /api/tokens': {
    summary: 'Make a token for one instance',
    description:
      'Admin token only. Scopes: `read` (every GET), `send` (sends, new campaigns and scheduled messages), `manage` (the rest); all three by default. The token is in this answer only: only its SHA-256 is stored.',
    example: { instanceId: 'shop', name: 'Shop CRM', scopes: ['read', 'send'] },
    responses: {
      200: {
        description: 'The token, shown this once',
        example: {
          id: 'tok_3f9a1c2b7d4e',
          token: 'wag_Zk3q9T1xv0mW8bR2yL5nC7hJ4pA6sD1f',
          instanceId: 'shop',
          name: 'Shop CRM',
          scopes: ['read', 'send'],
          createdAt: '2026-12-02T10:00:00.000Z',
        },
      },
      404: { description: 'No such instance', example: { error: 'instance shop not found', code: 'INSTANCE_NOT_FOUND' } },
    },
  },
  'GET /api/tokens': {
    summary: 'The live instance tokens, masked',
    description: 'Admin token only.',
    responses: {
      200: {
        description: 'OK',
        example: {
          tokens: [
            {
              id: 'tok_3f9a1c2b7d4e',
              instanceId: 'shop',
              name: 'Shop CRM',
              scopes: ['read', 'send'],
              token: 'wag_Zk3q9T…',
              createdAt: '2026-12-02T10:00:00.000Z',
            },
          ],
        },
      },
    },
  },
  'DELETE /api/tokens/:id': {
    summary: 'Revoke a token',
    description: 'Admin token only. Every API process refuses it from the next request (401).',
    parameters: { id: 'tok_3f9a1c2b7d4e' },
    responses: {
      200: { description: 'Revoked', example: { success: true } },
      404: { description: 'No such token', example: { error: 'token tok_3f9a1c2b7d4e not found', code: 'TOKEN_NOT_FOUND' } },
    },
  },
};
