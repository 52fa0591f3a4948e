// A flow's `http` step against a real local server: the URL filled with its values URL-encoded, the
// JSON body filled, JSON and text answers kept, errors (a status, an answer too large, no answer in
// time, a refused private address) answered as failures for `onError`, never thrown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import { createFlowActivities, FLOW_HTTP_MAX_BYTES } from '../activities/flows.js';
import type { Db } from '../db/knex.js';

let server: Server;
let base: string;
const seen: Array<{ method: string; url: string; body: string; type?: string }> = [];

before(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, body: Buffer.concat(chunks).toString(), type: req.headers['content-type'] });
      if (req.url!.startsWith('/json'))
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"shipped","n":[1,2]}');
      if (req.url!.startsWith('/text')) return res.writeHead(200).end('tamam');
      if (req.url!.startsWith('/large')) return res.writeHead(200).end('x'.repeat(FLOW_HTTP_MAX_BYTES + 10));
      if (req.url!.startsWith('/slow')) return void setTimeout(() => res.writeHead(200).end('late'), 12_000).unref();
      res.writeHead(404).end('no such order');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => {
  server.closeAllConnections();
  server.close();
});

// The http step uses neither the database nor the outbox.
const activities = (allowPrivate: boolean) =>
  createFlowActivities({ db: undefined as unknown as Db, logger: pino({ level: 'silent' }), wakeOutbox: async () => {}, allowPrivate });

test('the URL and body are filled from the variables; a JSON answer is kept as JSON, another as text', async () => {
  const { flowHttp } = activities(true);
  const vars = { order: '12 34/5', lookup: { city: 'İzmir' } };
  const json = await flowHttp({
    method: 'POST',
    url: `${base}/json/{order}`,
    body: { order: '{order}', city: '{lookup.city}', n: 3 },
    vars,
  });
  assert.deepEqual(json, { ok: true, status: 200, data: { status: 'shipped', n: [1, 2] } });
  const call = seen.at(-1)!;
  assert.equal(call.method, 'POST');
  assert.equal(call.url, '/json/12%2034%2F5');
  assert.equal(call.type, 'application/json');
  assert.deepEqual(JSON.parse(call.body), { order: '12 34/5', city: 'İzmir', n: 3 });
  assert.deepEqual(await flowHttp({ method: 'GET', url: `${base}/text?o={order}`, vars }), { ok: true, status: 200, data: 'tamam' });
  assert.equal(seen.at(-1)!.body, '', 'a GET has no body');
});

test('a failing status, an answer too large and no answer within 10 s are failures, not errors', async () => {
  const { flowHttp } = activities(true);
  assert.deepEqual(await flowHttp({ method: 'GET', url: `${base}/missing`, vars: {} }), { ok: false, error: 'HTTP 404: no such order' });
  assert.deepEqual(await flowHttp({ method: 'GET', url: `${base}/large`, vars: {} }), {
    ok: false,
    error: `the answer is larger than ${FLOW_HTTP_MAX_BYTES} bytes`,
  });
  const started = Date.now();
  assert.deepEqual(await flowHttp({ method: 'GET', url: `${base}/slow`, vars: {} }), { ok: false, error: 'no answer within 10 s' });
  assert.ok(Date.now() - started < 11_500);
  assert.deepEqual(await flowHttp({ method: 'GET', url: 'http://{host}/x', vars: { host: 'a b' } }), {
    ok: false,
    error: 'the URL is not valid once filled',
  });
});

test('a private address is refused unless FLOW_HTTP_PRIVATE_URLS=allow, checked on the address connected to', async () => {
  const before = seen.length;
  const refused = await activities(false).flowHttp({ method: 'GET', url: `${base}/json`, vars: {} });
  assert.equal(refused.ok, false);
  assert.match(
    (refused as { error: string }).error,
    /^refusing to call a private address \(127\.0\.0\.1\); set FLOW_HTTP_PRIVATE_URLS=allow/,
  );
  // A name that resolves to a private address is refused the same way.
  const byName = await activities(false).flowHttp({ method: 'GET', url: `${base.replace('127.0.0.1', 'localhost')}/json`, vars: {} });
  assert.match((byName as { error: string }).error, /^refusing to call a private address/);
  assert.equal(seen.length, before, 'nothing reached the server');
});
