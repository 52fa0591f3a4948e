import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { startGateway, type Gateway } from './support/gateway.js';
import { createApp } from '../api/app.js';
import { loadConfig } from '../config/index.js';
import { createDb } from '../db/knex.js';
import { createLogger } from '../lib/logger.js';
import { createTemporalClient } from '../temporal/client.js';
import { freePort } from '../stack/ports.js';
import { SendWaiter } from '../api/sendWaiter.js';
import { PgListener } from '../db/pgListener.js';
import { EventHub } from '../api/events/hub.js';
import { createLocalMediaStore } from '../media/store.js';

let gw: Gateway;
before(async () => {
  gw = await startGateway({ name: 'api', workers: 0, env: { RATE_LIMIT_PER_MINUTE: '0' } });
});
after(() => gw?.stop());

const anonymous = (path: string, init?: RequestInit) => fetch(`${gw.baseUrl}${path}`, init);

test('the token is accepted as a Bearer header, an X-Api-Key header or a ?token= query', async () => {
  for (const res of [
    await anonymous('/api/instance', { headers: { authorization: `Bearer ${gw.token}` } }),
    await anonymous('/api/instance', { headers: { 'x-api-key': gw.token } }),
    await anonymous(`/api/instance?token=${gw.token}`),
  ]) {
    assert.equal(res.status, 200);
    assert.ok(((await res.json()) as { instances: string[] }).instances.includes('default'));
  }
});

test('a missing or wrong token is a 401 with an error body', async () => {
  for (const res of [
    await anonymous('/api/instance'),
    await anonymous('/api/instance', { headers: { authorization: `Bearer ${gw.token}x` } }),
    await anonymous('/api/instance', { headers: { 'x-api-key': 'short' } }),
    await anonymous('/api/instance?token='),
    await anonymous('/api/instance/default/status', { headers: { authorization: `Basic ${gw.token}` } }),
  ]) {
    assert.equal(res.status, 401);
    assert.deepEqual(await res.json(), { error: 'missing or invalid API token', code: 'UNAUTHORIZED' });
  }
});

test('tokens never appear in the logs, even when sent as ?token=', async () => {
  await anonymous(`/api/instance?token=${gw.token}`);
  await anonymous(`/api/instance/default/status?token=${gw.token}&x=1`);
  await anonymous('/api/instance', { headers: { authorization: `Bearer ${gw.token}` } });
  await new Promise((r) => setTimeout(r, 200));
  const logs = gw.api.output();
  assert.ok(logs.includes('token=[REDACTED]'), 'the request is logged, redacted');
  assert.ok(!logs.includes(gw.token), 'the token itself is not');
});

test('every response carries a request id, and a sane incoming one is kept', async () => {
  const res = await gw.request('/api/instance', { headers: { 'x-request-id': 'trace-42' } });
  assert.equal(res.headers.get('x-request-id'), 'trace-42');
  const generated = await gw.request('/api/instance', { headers: { 'x-request-id': 'bad id with spaces' } });
  assert.match(generated.headers.get('x-request-id') ?? '', /^[0-9a-f-]{36}$/);
});

test('malformed JSON is a 400, an unknown route a 404, a wrong type names the field', async () => {
  const malformed = await gw.request('/api/instance', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"id": "x",',
  });
  assert.equal(malformed.status, 400);
  assert.deepEqual(await malformed.json(), { error: 'malformed JSON body', code: 'MALFORMED_JSON' });

  const unknown = await gw.request('/api/nothing-here');
  assert.equal(unknown.status, 404);
  assert.match(((await unknown.json()) as { error: string }).error, /no route/);

  const wrongType = await gw.request('/api/instance', { method: 'POST', json: { id: 42 } });
  assert.equal(wrongType.status, 400);
  assert.match(((await wrongType.json()) as { error: string }).error, /^id: /);
});

test('a body over the limit is a 413 and the API keeps serving', async () => {
  const huge = JSON.stringify({ description: 'x'.repeat(71 * 1024 * 1024) });
  const res = await gw.request('/api/instance', { method: 'POST', headers: { 'content-type': 'application/json' }, body: huge });
  assert.equal(res.status, 413);
  assert.equal(((await res.json()) as { code: string }).code, 'PAYLOAD_TOO_LARGE');
  assert.equal((await gw.request('/api/instance')).status, 200);
});

test('GET /health needs no token and reports the database and Temporal', async () => {
  const res = await anonymous('/health');
  assert.equal(res.status, 200);
  const body = (await res.json()) as { status: string; database: { ok: boolean }; temporal: { ok: boolean } };
  assert.equal(body.status, 'ok');
  assert.equal(body.database.ok, true);
  assert.equal(body.temporal.ok, true);
});

test('with Postgres and Temporal unreachable, requests get a 503 error quickly instead of hanging', async () => {
  const deadPg = await freePort();
  const deadTemporal = await freePort();
  const config = loadConfig({
    DATABASE_URL: `postgres://postgres@127.0.0.1:${deadPg}/none`,
    TEMPORAL_ADDRESS: `127.0.0.1:${deadTemporal}`,
    RATE_LIMIT_PER_MINUTE: '0',
  });
  const db = createDb(config.DATABASE_URL!);
  const temporal = createTemporalClient(config.TEMPORAL_ADDRESS!, 'default');
  const logger = createLogger('silent', 'api');
  const media = createLocalMediaStore({ db, dataDir: config.DATA_DIR, publicUrl: config.PUBLIC_URL });
  const listener = new PgListener(config.DATABASE_URL!, logger); // never started: no database to listen to
  const waiter = new SendWaiter(listener);
  const events = new EventHub(db, listener, logger);
  const app = createApp({ config, db, temporal, logger, apiToken: 'a-token-for-this-test-only', media, waiter, events });
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    // Not ready, but alive: /ready is a 503, /health (liveness) a 200, both saying what is down.
    const ready = await fetch(`${base}/ready`);
    assert.equal(ready.status, 503);
    const body = (await ready.json()) as { status: string; database: { ok: boolean }; temporal: { ok: boolean } };
    assert.equal(body.database.ok, false);
    assert.equal(body.temporal.ok, false);
    const health = await fetch(`${base}/health`);
    assert.equal(health.status, 200);
    assert.equal(((await health.json()) as { status: string }).status, 'unavailable');

    const res = await fetch(`${base}/api/instance`, {
      headers: { 'x-api-key': 'a-token-for-this-test-only' },
      signal: AbortSignal.timeout(15_000),
    });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { error: 'database unavailable', code: 'DATABASE_UNAVAILABLE' });
  } finally {
    server.close();
    await db.destroy();
    // The Temporal connection is left to its own end: the health probe's call to the dead address keeps
    // retrying in the client, and the client throws from a timer if the connection is closed under a retry.
  }
});

test('with Temporal unreachable, a session action answers 503 and the API keeps serving', async () => {
  const deadTemporal = await freePort();
  const api = await gw.startApi({ TEMPORAL_ADDRESS: `127.0.0.1:${deadTemporal}` });
  try {
    const res = await fetch(`${api.baseUrl}/api/instance/default/connect`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}` },
      signal: AbortSignal.timeout(20_000),
    });
    assert.equal(res.status, 503);
    assert.deepEqual(await res.json(), { error: 'Temporal unavailable', code: 'TEMPORAL_UNAVAILABLE' });
    const list = await fetch(`${api.baseUrl}/api/instance`, { headers: { authorization: `Bearer ${gw.token}` } });
    assert.equal(list.status, 200);
  } finally {
    await api.proc.stop();
  }
});
