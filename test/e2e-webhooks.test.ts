// The three events of the contract reach a real receiver, from real Baileys against the simulator:
// connection_status on pairing, message_ack as a sent message is delivered and read, message_received
// when a contact writes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import { lidJid } from '../simulator/directory.js';
import { eventually, type Gateway } from './support/gateway.js';
import type { Receiver } from './support/receiver.js';
import { jid, scenario } from './support/scenario.js';

let sim: Simulator;
let gw: Gateway;
let receiver: Receiver;
const OWNER = '905553100001';
const ZEYNEP = '905553100002';
const secret = `whsec_${randomBytes(32).toString('base64')}`;

const s = scenario({
  name: 'e2e_webhooks',
  users: [
    [OWNER, 'Kırtasiye'],
    [ZEYNEP, 'Zeynep'],
  ],
  prepare: (sim) => (sim.receiptPolicy = 'read'),
  receiver: true,
  // The receiver from the start, so that it gets the pairing's connection_status events.
  instances: [{ id: 'shop', phone: OWNER, webhook: 'connect', settings: { webhookSecret: secret } }],
});
before(async () => ({ sim, gw, receiver } = await s.start()));
after(() => s.stop());

const verified = (r: Receiver['received'][number]) =>
  new Webhook(secret).verify(r.body, r.headers as Record<string, string>) as Receiver['received'][number]['json'];

test('pairing delivers connection_status "connected" with the account', async () => {
  const connected = await eventually(
    async () => receiver.byEvent('connection_status').find((r) => r.json.data.status === 'connected'),
    30_000,
    'connection_status connected',
  );
  const payload = verified(connected);
  assert.equal(payload.instance_id, 'shop');
  const account = payload.data.account as { id: string };
  // As GET .../me shows it: the linked device's JID.
  assert.match(account.id, new RegExp(`^${OWNER}:\\d+@s\\.whatsapp\\.net$`));
  // The push name can come after the connection opens: then it is not known yet when the status changes.
  const name = (payload.data.account as { name: string | null }).name;
  assert.ok(name === 'Kırtasiye' || name === null, String(name));
  assert.deepEqual(payload.data, { status: 'connected', account: { id: account.id, name, phone: OWNER } });
  assert.equal(typeof payload.timestamp, 'number');
  // connecting came before connected.
  const statuses = receiver.byEvent('connection_status').map((r) => r.json.data.status);
  assert.ok(statuses.indexOf('connecting') < statuses.indexOf('connected'), statuses.join());
});

test('a sent message is followed by message_ack sent, delivered and read, in order', async () => {
  const res = await gw.request('/api/instance/shop/messages/chat', { method: 'POST', json: { to: ZEYNEP, body: 'Siparişiniz hazır' } });
  const { id } = (await res.json()) as { id: string };
  const acks = await eventually(
    async () => {
      const mine = receiver.byEvent('message_ack').filter((r) => r.json.data.id === id);
      return mine.length >= 3 ? mine : undefined;
    },
    30_000,
    'three acks',
  );
  assert.deepEqual(
    acks.map((r) => verified(r).data),
    ['sent', 'delivered', 'read'].map((status) => ({ id, chatId: jid(ZEYNEP), status, fromMe: true })),
  );
});

test('an incoming message is delivered as message_received with the contract fields', async () => {
  const id = await sendFromPhone(sim, sim.user(ZEYNEP), sim.user(OWNER), { conversation: 'Teşekkürler!' });
  const got = await eventually(
    async () => receiver.byEvent('message_received').find((r) => r.json.data.id === id),
    30_000,
    'message_received',
  );
  const { data } = verified(got);
  assert.deepEqual(
    { ...data, timestamp: typeof data.timestamp },
    {
      id,
      from: jid(ZEYNEP),
      fromLid: lidJid(sim.user(ZEYNEP).lid),
      to: jid(OWNER),
      body: 'Teşekkürler!',
      type: 'chat',
      timestamp: 'number',
      fromMe: false,
      chatId: jid(ZEYNEP),
      pushName: 'Zeynep',
    },
  );
  const seqs = receiver.received.map((r) => r.json.seq);
  assert.equal(new Set(seqs).size, seqs.length, 'every event once');
});
