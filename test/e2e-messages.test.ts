// Sending and receiving through the gateway, on real Baileys against the simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import { lidJid } from '../simulator/directory.js';
import { eventually, type Gateway } from './support/gateway.js';
import { scenario } from './support/scenario.js';

let sim: Simulator;
let gw: Gateway;
const OWNER = '905552000001';
const ALICE = '905552000002';
const s = scenario({
  name: 'e2e_messages',
  users: [[ALICE, 'Alice']],
  prepare: (sim) => (sim.receiptPolicy = 'read'),
  instances: [{ id: 'shop', phone: OWNER, name: 'Dükkan' }],
});
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const send = async (type: string, body: unknown, headers: Record<string, string> = {}) => {
  const res = await gw.request(`/api/instance/shop/messages/${type}`, { method: 'POST', json: body, headers });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const receivedBy = (phone: string, id: string) =>
  eventually(async () => sim.received.find((m) => m.to === phone && m.id === id && !m.ownCopy), 20_000, `message ${id} at ${phone}`);

test('a text goes out within the request: 200 { sent, id }, and the phone gets it with that id', async () => {
  const { status, body } = await send('chat', { to: `+${ALICE}`, body: 'Merhaba Alice' });
  assert.equal(status, 200);
  assert.equal(body.sent, true);
  assert.match(body.id, /^3EB0[0-9A-F]{18}$/);
  const got = await receivedBy(ALICE, body.id);
  assert.equal(got.message.conversation ?? got.message.extendedTextMessage?.text, 'Merhaba Alice');
  assert.equal(got.from, OWNER);
});

test('receipts move the status to read, each step recorded once as a message_ack event', async () => {
  const { body } = await send('chat', { to: ALICE, body: 'status check' });
  await eventually(
    async () => {
      const { messages } = (await (await gw.request(`/api/instance/shop/messages?chatId=${ALICE}&limit=5`)).json()) as {
        messages: Array<{ id: string; status: string }>;
      };
      return messages.find((m) => m.id === body.id)?.status === 'read';
    },
    20_000,
    'read',
  );
  const acks = await gw
    .db('webhook_events')
    .where({ instance_id: 'shop', event: 'message_ack' })
    .whereRaw("data->>'id' = ?", [body.id])
    .orderBy('seq');
  assert.deepEqual(
    acks.map((a) => a.data.status),
    ['sent', 'delivered', 'read'],
  );
  assert.deepEqual(acks[0].data, { id: body.id, chatId: `${ALICE}@s.whatsapp.net`, status: 'sent', fromMe: true });
});

test('an incoming text is stored once and produces message_received', async () => {
  const id = await sendFromPhone(sim, sim.user(ALICE), sim.user(OWNER), { conversation: 'Fiyat nedir?' });
  const event = await eventually(
    async () =>
      (await gw.db('webhook_events').where({ instance_id: 'shop', event: 'message_received' }).whereRaw("data->>'id' = ?", [id]))[0],
    20_000,
    'message_received',
  );
  assert.deepEqual(
    { ...event.data, timestamp: typeof event.data.timestamp },
    {
      id,
      from: `${ALICE}@s.whatsapp.net`,
      // WhatsApp gives the sender's LID beside its number (the simulator as the real servers do).
      fromLid: lidJid(sim.user(ALICE).lid),
      to: `${OWNER}@s.whatsapp.net`,
      body: 'Fiyat nedir?',
      type: 'chat',
      timestamp: 'number',
      fromMe: false,
      chatId: `${ALICE}@s.whatsapp.net`,
      pushName: 'Alice',
    },
  );
  const { messages } = (await (await gw.request(`/api/instance/shop/messages?status=received`)).json()) as {
    messages: Array<{ id: string; body: string }>;
  };
  assert.equal(messages.filter((m) => m.id === id).length, 1);
  const contact = await gw
    .db('contacts')
    .where({ instance_id: 'shop', id: `${ALICE}@s.whatsapp.net` })
    .first();
  assert.equal(contact.notify, 'Alice');
});

test('a number that is not on WhatsApp fails with the reason stored', async () => {
  const { status, body } = await send('chat', { to: '905559999999', body: 'hello?' });
  assert.equal(status, 422);
  assert.equal(body.status, 'failed');
  assert.match(body.error, /not on WhatsApp/);
  const row = await gw.db('messages').where({ instance_id: 'shop', id: body.id }).first();
  assert.equal(row.status, 'failed');
  // The send stored a chat for it; a number WhatsApp does not know leaves none behind.
  assert.equal(await gw.db('chats').where({ instance_id: 'shop', id: '905559999999@s.whatsapp.net' }).first(), undefined);
  const chats = (await (await gw.request('/api/instance/shop/chats')).json()) as Array<{ id: string }>;
  assert.ok(!chats.some((c) => c.id.startsWith('905559999999')), JSON.stringify(chats));
});

test('a message accepted before the instance was first paired goes out once it is, with the account as its sender', async () => {
  const LATE = '905552000009';
  sim.addUser(LATE, 'Late');
  await gw.request('/api/instance', { method: 'POST', json: { id: 'late' } });
  const res = await gw.request('/api/instance/late/messages/chat', { method: 'POST', json: { to: ALICE, body: 'queued before pairing' } });
  assert.equal(res.status, 202);
  const { id } = (await res.json()) as { id: string };
  assert.equal((await gw.db('messages').where({ instance_id: 'late', id }).first()).from_jid, null);
  await gw.request('/api/instance/late/connect', { method: 'POST' });
  const qr = await eventually(
    async () => ((await (await gw.request('/api/instance/late/qr')).json()) as { qrCode: string | null }).qrCode,
    30_000,
    'QR',
  );
  await sim.scanQr(LATE, qr);
  await receivedBy(ALICE, id);
  const row = await eventually(
    async () => {
      const r = await gw.db('messages').where({ instance_id: 'late', id }).first();
      return r.status !== 'pending' ? r : undefined;
    },
    20_000,
    'its status recorded',
  );
  assert.equal(row.from_jid, `${LATE}@s.whatsapp.net`);
  const history = (await (await gw.request(`/api/instance/late/messages?chatId=${ALICE}`)).json()) as {
    messages: Array<{ id: string; from: string }>;
  };
  assert.equal(history.messages.find((m) => m.id === id)?.from, `${LATE}@s.whatsapp.net`);
});

test('the same Idempotency-Key sends one message and answers with the same id', async () => {
  const headers = { 'Idempotency-Key': 'order-1234-confirmation' };
  const first = await send('chat', { to: ALICE, body: 'order confirmed' }, headers);
  const again = await send('chat', { to: ALICE, body: 'order confirmed' }, headers);
  assert.equal(first.status, 200);
  assert.equal(again.body.id, first.body.id);
  await receivedBy(ALICE, first.body.id);
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(sim.received.filter((m) => m.id === first.body.id && m.to === ALICE && !m.ownCopy).length, 1);
});

test('an Idempotency-Key reused for another request sends nothing and is a 422 saying so; the same request still gets the first answer', async () => {
  const headers = { 'Idempotency-Key': 'order-77-shipped' };
  const first = await send('chat', { to: ALICE, body: 'order 77 shipped' }, headers);
  assert.equal(first.status, 200);
  // Another text, another recipient, another endpoint: each a 422 naming the key, none stored or sent.
  const reused = [
    await send('chat', { to: ALICE, body: 'order 78 shipped' }, headers),
    await send('chat', { to: '905552000099', body: 'order 77 shipped' }, headers),
    await send('location', { to: ALICE, lat: 41.01, lng: 28.97 }, headers),
    await send('chat', { to: ALICE, body: 'order 77 shipped', typingMs: 1_000 }, headers),
  ];
  for (const answer of reused) {
    assert.equal(answer.status, 422, JSON.stringify(answer.body));
    assert.equal(answer.body.code, 'IDEMPOTENCY_KEY_REUSED');
    assert.match(answer.body.error, /Idempotency-Key order-77-shipped was used for another request/);
    assert.equal(answer.body.sent, undefined);
  }
  // The same request again (the recipient written another way) is a retry: the first message, once.
  const retry = await send('chat', { to: `+${ALICE}`, body: 'order 77 shipped' }, headers);
  assert.equal(retry.status, 200);
  assert.equal(retry.body.id, first.body.id);
  await receivedBy(ALICE, first.body.id);
  await new Promise((r) => setTimeout(r, 500));
  const texts = sim.received.filter((m) => !m.ownCopy).map((m) => m.message.conversation ?? m.message.extendedTextMessage?.text);
  assert.equal(texts.filter((t) => t === 'order 77 shipped').length, 1);
  assert.equal(texts.filter((t) => t === 'order 78 shipped').length, 0);
  const stored = await gw.db('messages').where({ instance_id: 'shop', idempotency_key: 'order-77-shipped' });
  assert.equal(stored.length, 1);
});
