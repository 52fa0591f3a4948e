// Instance tokens: one customer's token reaches its own instance only, with its scopes; made, listed
// and revoked with the admin token; kept hashed; refused at once everywhere when revoked.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startGateway, type Gateway } from './support/gateway.js';

let gw: Gateway;
before(async () => {
  gw = await startGateway({ name: 'tokens', workers: 0 });
  for (const id of ['alpha', 'beta']) assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id } })).status, 200);
});
after(async () => {
  await gw?.stop();
});

const as = async (token: string, path: string, init: { method?: string; json?: unknown } = {}, baseUrl = gw.baseUrl) => {
  const res = await fetch(`${baseUrl}${path}`, {
    method: init.method ?? 'GET',
    headers: { authorization: `Bearer ${token}`, ...(init.json ? { 'content-type': 'application/json' } : {}) },
    body: init.json ? JSON.stringify(init.json) : undefined,
  });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const make = async (json: unknown) => {
  const res = await gw.request('/api/tokens', { method: 'POST', json });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

test('an instance token works on its own instance and gets 403 on any other, which it cannot even see', async () => {
  const { status, body } = await make({ instanceId: 'alpha', name: 'Alpha Ltd' });
  assert.equal(status, 200, JSON.stringify(body));
  assert.match(body.id, /^tok_[0-9a-f]{12}$/);
  assert.match(body.token, /^wag_[\w-]{32}$/);
  assert.deepEqual(body.scopes, ['read', 'send', 'manage']);
  const token = body.token as string;

  assert.equal((await as(token, '/api/instance/alpha/status')).status, 200);
  const sent = await as(token, '/api/instance/alpha/messages/chat', { method: 'POST', json: { to: '905551234567', body: 'hi' } });
  assert.equal(sent.status, 202, JSON.stringify(sent.body));
  assert.equal((await as(token, '/api/instance/alpha/settings', { method: 'POST', json: { sendDelay: 10 } })).status, 200);

  for (const [method, path] of [
    ['GET', '/api/instance/beta/status'],
    ['POST', '/api/instance/beta/messages/chat'],
    ['GET', '/api/instance/nonexistent/status'],
  ] as const) {
    const refused = await as(token, path, { method, json: method === 'POST' ? { to: '905551234567', body: 'hi' } : undefined });
    assert.equal(refused.status, 403, `${method} ${path}`);
    assert.equal(refused.body.code, 'WRONG_INSTANCE');
    assert.match(refused.body.error, /^this token is for instance alpha only$/);
  }
  const listed = await as(token, '/api/instance');
  assert.deepEqual(listed.body.instances, ['alpha']);
  assert.deepEqual(Object.keys(listed.body.statuses), ['alpha']);
  // What only the admin may do.
  assert.equal((await as(token, '/api/instance', { method: 'POST', json: { id: 'gamma' } })).status, 403);
  assert.equal((await as(token, '/api/instance/alpha', { method: 'DELETE' })).status, 403);
  assert.equal((await as(token, '/api/tokens')).status, 403);
  assert.equal((await as(token, '/api/tokens', { method: 'POST', json: { instanceId: 'beta' } })).status, 403);
});

test('scopes: a read-only token reads, and gets 403 naming the scope for a send or a change', async () => {
  const { body } = await make({ instanceId: 'alpha', scopes: ['read'] });
  assert.equal((await as(body.token, '/api/instance/alpha/messages')).status, 200);
  const send = await as(body.token, '/api/instance/alpha/messages/chat', { method: 'POST', json: { to: '905551234567', body: 'hi' } });
  assert.equal(send.status, 403);
  assert.equal(send.body.code, 'MISSING_SCOPE');
  assert.match(send.body.error, /lacks the send scope/);
  const manage = await as(body.token, '/api/instance/alpha/messages/clear', { method: 'POST' });
  assert.match(manage.body.error, /lacks the manage scope/);
  // A send-only token sends, and starts campaigns, but cannot change settings.
  const sender = (await make({ instanceId: 'alpha', scopes: ['send'] })).body.token as string;
  assert.equal(
    (await as(sender, '/api/instance/alpha/messages/chat', { method: 'POST', json: { to: '905551234567', body: 'x' } })).status,
    202,
  );
  assert.equal((await as(sender, '/api/instance/alpha/settings', { method: 'POST', json: { sendDelay: 0 } })).status, 403);
  // Showing "typing…" goes with sending.
  const presence = await as(sender, '/api/instance/alpha/presence', { method: 'POST', json: { state: 'available' } });
  assert.notEqual(presence.status, 403, JSON.stringify(presence.body));
  assert.equal((await as(sender, '/api/instance/alpha/settings')).status, 403);
});

test('tokens are listed masked, stored only as hashes, and a revoked one is refused at once by every API process', async () => {
  const { body } = await make({ instanceId: 'beta', name: 'Beta' });
  const row = await gw.db('api_tokens').where({ id: body.id }).first();
  assert.equal(row.hash, createHash('sha256').update(body.token).digest('hex'));
  assert.ok(!JSON.stringify(row).includes(body.token), 'the token is not stored');
  const listed = ((await (await gw.request('/api/tokens')).json()) as { tokens: Array<Record<string, any>> }).tokens.find(
    (t) => t.id === body.id,
  )!;
  assert.equal(listed.token, `${body.token.slice(0, 10)}…`);
  assert.equal(listed.instanceId, 'beta');

  const second = await gw.startApi();
  assert.equal((await as(body.token, '/api/instance/beta/status', {}, second.baseUrl)).status, 200);
  assert.equal((await gw.request(`/api/tokens/${body.id}`, { method: 'DELETE' })).status, 200);
  for (const base of [gw.baseUrl, second.baseUrl]) {
    const refused = await as(body.token, '/api/instance/beta/status', {}, base);
    assert.equal(refused.status, 401);
    assert.match(refused.body.error, /token/);
  }
  assert.equal((await gw.request(`/api/tokens/${body.id}`, { method: 'DELETE' })).status, 404);
  await second.proc.stop();
});

test('a malformed token request is a 400 naming the field; an unknown instance a 404', async () => {
  for (const [json, field] of [
    [{}, /^instanceId/],
    [{ instanceId: 'alpha', scopes: ['write'] }, /^scopes/],
    [{ instanceId: 'alpha', scopes: [] }, /^scopes/],
    [{ instanceId: 'alpha', name: '' }, /^name/],
    [{ instanceId: 'bad id!' }, /^instanceId/],
  ] as const) {
    const { status, body } = await make(json);
    assert.equal(status, 400, JSON.stringify(json));
    assert.match(body.error, field, JSON.stringify(body));
  }
  const unknown = await make({ instanceId: 'nobody' });
  assert.equal(unknown.status, 404);
});
