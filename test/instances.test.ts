import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { removeDevice, scanQr } from './support/fakePhone.js';
import { Client, Connection } from '@temporalio/client';
import { infra } from './support/infra.js';
import { enableWebhook } from './support/pairing.js';

let gw: Gateway;
before(async () => {
  gw = await startGateway({ name: 'instances', env: { FAKE_QR_INTERVAL_MS: '300', FAKE_QR_REFS: '4' } });
});
after(() => gw?.stop());

const json = async (res: Response) => ({ status: res.status, body: await res.json() });
const statusOf = async (id: string) => (await json(await gw.request(`/api/instance/${id}/status`))).body.accountStatus?.status;
async function create(id?: string) {
  return json(await gw.request('/api/instance', { method: 'POST', json: id ? { id, description: 'test' } : {} }));
}

test('the default instance exists on first start, disconnected', async () => {
  const { status, body } = await json(await gw.request('/api/instance'));
  assert.equal(status, 200);
  assert.ok(body.instances.includes('default'));
  assert.deepEqual(body.statuses.default, { accountStatus: { status: 'disconnected' } });
});

test('creating an instance generates inst_ + 8 hex chars, and a taken id is a 409', async () => {
  const generated = await create();
  assert.equal(generated.status, 200);
  assert.equal(generated.body.success, true);
  assert.match(generated.body.instanceId, /^inst_[0-9a-f]{8}$/);

  assert.deepEqual((await create('shop-1')).body, { success: true, instanceId: 'shop-1' });
  const again = await create('shop-1');
  assert.equal(again.status, 409);
  assert.match(again.body.error, /already exists/);

  const list = (await json(await gw.request('/api/instance'))).body;
  assert.ok(list.instances.includes('shop-1') && list.instances.includes(generated.body.instanceId));
});

test('malformed and unknown instance ids are rejected before anything runs', async () => {
  for (const bad of ['..%2F..%2Fetc', 'a'.repeat(200), 'caf%C3%A9', '%E2%80%AEevil', 'a%20b', '-lead']) {
    const res = await json(await gw.request(`/api/instance/${bad}/status`));
    assert.equal(res.status, 400, bad);
    assert.match(res.body.error, /instanceId/);
  }
  const missing = await json(await gw.request('/api/instance/nope/status'));
  assert.equal(missing.status, 404);
  assert.equal(missing.body.error, 'instance nope not found');
  const badCreate = await create('../../x');
  assert.equal(badCreate.status, 400);
  assert.match(badCreate.body.error, /^id:/);
});

test('connect shows a QR, a scan opens the session, and /me names the account', async () => {
  await create('pair');
  await enableWebhook(gw, 'pair');
  assert.deepEqual((await json(await gw.request('/api/instance/pair/me'))).status, 409);
  assert.deepEqual((await json(await gw.request('/api/instance/pair/connect', { method: 'POST' }))).body, { success: true });

  const qr = await eventually(
    async () => {
      const { body } = await json(await gw.request('/api/instance/pair/qr'));
      return body.qrCode ? body : null;
    },
    20_000,
    'a QR code',
  );
  assert.equal(qr.status, 'connecting');
  assert.match(qr.qrCode, /^data:image\/png;base64,[A-Za-z0-9+/]+=*$/);

  const png = await gw.request('/api/instance/pair/qrcode');
  assert.equal(png.headers.get('content-type'), 'image/png');
  const bytes = Buffer.from(await png.arrayBuffer());
  assert.deepEqual([...bytes.subarray(0, 8)], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

  await scanQr(gw.db, 'pair', '905551112233', 'Ahmet');
  await eventually(async () => (await statusOf('pair')) === 'open', 20_000, 'status open');
  assert.deepEqual((await json(await gw.request('/api/instance/pair/me'))).body, {
    id: '905551112233:7@s.whatsapp.net',
    name: 'Ahmet',
    phone: '905551112233',
  });
  assert.deepEqual((await json(await gw.request('/api/instance/pair/qr'))).body, { qrCode: null, status: 'open' });
  const qrcodeWhenOpen = await gw.request('/api/instance/pair/qrcode');
  assert.match(qrcodeWhenOpen.headers.get('content-type') ?? '', /application\/json/);
  assert.deepEqual(await qrcodeWhenOpen.json(), { qrCode: null, status: 'open' });

  const events = await gw.db('webhook_events').where({ instance_id: 'pair', event: 'connection_status' }).orderBy('seq');
  const statuses = events.map((e) => e.data.status);
  assert.deepEqual(statuses.slice(0, 2), ['connecting', 'connected']);
  assert.deepEqual(events.at(-1).data.account, { id: '905551112233:7@s.whatsapp.net', name: 'Ahmet', phone: '905551112233' });
});

test('connect on a connected instance changes nothing, and restart reconnects without a QR', async () => {
  await eventually(async () => (await statusOf('pair')) === 'open', 20_000, 'pair open');
  assert.equal((await gw.request('/api/instance/pair/connect', { method: 'POST' })).status, 200);
  const before = await gw.db('webhook_events').where({ instance_id: 'pair' }).count<{ count: string }[]>('* as count');

  const restart = await json(await gw.request('/api/instance/pair/restart', { method: 'POST' }));
  assert.deepEqual(restart.body, { success: true, message: 'Restarting...' });
  // It goes through connecting and comes back open; the QR never reappears.
  await eventually(
    async () => {
      const n = await gw.db('webhook_events').where({ instance_id: 'pair' }).count<{ count: string }[]>('* as count');
      return Number(n[0]!.count) >= Number(before[0]!.count) + 2 && (await statusOf('pair')) === 'open';
    },
    20_000,
    'reconnected after restart',
  );
  const row = await gw.db('instances').where({ id: 'pair' }).first();
  assert.equal(row.qr, null);
});

test('logout ends in disconnected and the next connect needs a new QR', async () => {
  const res = await json(await gw.request('/api/instance/pair/logout', { method: 'POST' }));
  assert.deepEqual(res.body, { success: true });
  await eventually(async () => (await statusOf('pair')) === 'disconnected', 20_000, 'disconnected after logout');
  assert.equal(await gw.db('session_creds').where({ instance_id: 'pair' }).first(), undefined);
  assert.equal((await json(await gw.request('/api/instance/pair/me'))).status, 409);

  await gw.request('/api/instance/pair/connect', { method: 'POST' });
  const qr = await eventually(async () => (await json(await gw.request('/api/instance/pair/qr'))).body.qrCode, 20_000, 'a fresh QR');
  assert.match(qr, /^data:image\/png;base64,/);
});

test('removing the device from the phone logs the instance out', async () => {
  await create('phone-logout');
  await gw.request('/api/instance/phone-logout/connect', { method: 'POST' });
  await scanQr(gw.db, 'phone-logout');
  await eventually(async () => (await statusOf('phone-logout')) === 'open', 20_000, 'open');
  await removeDevice(gw.db, 'phone-logout');
  await eventually(async () => (await statusOf('phone-logout')) === 'disconnected', 20_000, 'disconnected');
  assert.equal(await gw.db('session_creds').where({ instance_id: 'phone-logout' }).first(), undefined);
});

test('an unscanned QR expires and the session ends disconnected', async () => {
  await create('expire');
  await gw.request('/api/instance/expire/connect', { method: 'POST' });
  await eventually(async () => (await json(await gw.request('/api/instance/expire/qr'))).body.qrCode, 20_000, 'QR');
  await eventually(async () => (await statusOf('expire')) === 'disconnected', 20_000, 'QR expiry');
  assert.deepEqual((await json(await gw.request('/api/instance/expire/qr'))).body, { qrCode: null, status: 'disconnected' });
});

test('clear deletes the message history of that instance only', async () => {
  await create('other');
  const message = (instance_id: string, id: string) => ({
    instance_id,
    id,
    chat_id: '905550000009@s.whatsapp.net',
    from_me: true,
    type: 'chat',
    body: 'hi',
    status: 'sent',
    timestamp: 1,
  });
  await gw.db('messages').insert([message('shop-1', 'A1'), message('shop-1', 'A2'), message('other', 'B1')]);
  assert.deepEqual((await json(await gw.request('/api/instance/shop-1/clear', { method: 'POST' }))).body, { success: true });
  assert.equal((await gw.db('messages').where({ instance_id: 'shop-1' })).length, 0);
  assert.equal((await gw.db('messages').where({ instance_id: 'other' })).length, 1);
});

test('delete removes the instance with all its data and stops its session', async () => {
  await create('doomed');
  await enableWebhook(gw, 'doomed');
  await gw.request('/api/instance/doomed/connect', { method: 'POST' });
  await scanQr(gw.db, 'doomed');
  await eventually(async () => (await statusOf('doomed')) === 'open', 20_000, 'open');
  await gw
    .db('messages')
    .insert({ instance_id: 'doomed', id: 'X', chat_id: 'c', from_me: false, type: 'chat', status: 'received', timestamp: 1 });
  for (const table of ['instance_settings', 'messages', 'webhook_events']) {
    assert.notEqual((await gw.db(table).where({ instance_id: 'doomed' })).length, 0, `${table} before the delete`);
  }

  assert.deepEqual((await json(await gw.request('/api/instance/doomed', { method: 'DELETE' }))).body, { success: true });
  assert.equal((await json(await gw.request('/api/instance/doomed/status'))).status, 404);
  for (const table of ['instance_settings', 'session_creds', 'session_keys', 'session_leases', 'messages', 'webhook_events']) {
    assert.equal((await gw.db(table).where({ instance_id: 'doomed' })).length, 0, table);
  }
  const { temporalAddress } = await infra();
  const client = new Client({ connection: await Connection.connect({ address: temporalAddress }), namespace: gw.env.TEMPORAL_NAMESPACE });
  const description = await client.workflow.getHandle('session-doomed').describe();
  assert.notEqual(description.status.name, 'RUNNING');
  await client.connection.close();
  // The id is free again.
  assert.equal((await create('doomed')).status, 200);
});
