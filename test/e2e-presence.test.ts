// Presence, typing before a send and read receipts through the gateway, on real Baileys against the
// simulator: what the recipient's phone sees, and when, relative to the message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Simulator } from '../simulator/simulator.js';
import { mountControlApi } from '../simulator/control.js';
import { sendFromPhone } from '../simulator/messages.js';
import type { SeenPresence } from '../simulator/presence.js';
import { eventually, type Gateway } from './support/gateway.js';
import { jid, scenario } from './support/scenario.js';

const OWNER = '905556100001';
const OTHER = '905556100002';
const DAVE = '905556100003';
const EVE = '905556100004';
const FAY = '905556100005';
let sim: Simulator;
let gw: Gateway;

const s = scenario({
  name: 'e2e_presence',
  users: [
    [DAVE, 'Dave'],
    [EVE, 'Eve'],
    [FAY, 'Fay'],
  ],
  prepare: mountControlApi,
  // The media host's CA, for the voice note's upload.
  mediaCa: true,
  instances: [
    { id: 'shop', phone: OWNER, name: 'Dükkan' },
    { id: 'other', phone: OTHER, name: 'Öteki' },
  ],
});
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

async function call(instance: string, path: string, json?: unknown) {
  const res = await gw.request(`/api/instance/${instance}${path}`, json === undefined ? {} : { method: 'POST', json });
  return { status: res.status, body: (await res.json()) as any };
}
const post = (path: string, json: unknown) => call('shop', path, json);
const textOf = (m: Simulator['received'][number]) => m.message.conversation ?? m.message.extendedTextMessage?.text;
const arrived = (to: string, text: string) =>
  eventually(async () => sim.received.find((m) => m.to === to && !m.ownCopy && textOf(m) === text), 30_000, `"${text}" at ${to}`);
const seen = (from: string, to: string | null, since: number) =>
  sim.presences.filter((p) => p.from === from && p.to === to && p.at >= since);

test('each presence state is seen by the phone: typing, recording and paused in its chat, online and offline account-wide', async () => {
  const since = Date.now();
  for (const state of ['composing', 'recording', 'paused'] as const) {
    const res = await post('/presence', { to: DAVE, state });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { success: true, state, to: jid(DAVE) });
  }
  for (const state of ['available', 'unavailable'] as const) {
    const res = await post('/presence', { state });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { success: true, state, to: null });
  }
  await eventually(async () => seen(OWNER, DAVE, since).length >= 3 && seen(OWNER, null, since).length >= 2, 10_000, 'presences');
  assert.deepEqual(
    seen(OWNER, DAVE, since).map((p) => p.state),
    ['composing', 'recording', 'paused'],
  );
  assert.deepEqual(
    seen(OWNER, null, since).map((p) => p.state),
    ['available', 'unavailable'],
  );
  // The control API tells a script in another process the same: Dave's view includes the account-wide ones.
  const res = await fetch(`http://127.0.0.1:${sim.port}/control/presence?to=${DAVE}&from=${OWNER}&since=${since - 1}`);
  const listed = (await res.json()) as SeenPresence[];
  assert.deepEqual(
    listed.map((p) => p.state),
    ['composing', 'recording', 'paused', 'available', 'unavailable'],
  );
});

test('typingMs: the recipient sees "composing" for that long, then "paused", then the message; it is kept with the message', async () => {
  const since = Date.now();
  const res = await post('/messages/chat', { to: EVE, body: 'Siparişiniz hazır', typingMs: 1500 });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const message = await arrived(EVE, 'Siparişiniz hazır');
  const states = seen(OWNER, EVE, since);
  const composing = states.find((p) => p.state === 'composing');
  const paused = states.find((p) => p.state === 'paused');
  assert.ok(composing && paused, JSON.stringify(states));
  // Allow for the socket's jitter between the two stanzas; the outbox waits the full time in between.
  assert.ok(message.receivedAt - composing.at >= 1_450, `composing ${message.receivedAt - composing.at} ms before the message`);
  assert.ok(paused.at >= composing.at + 1_450 && paused.at <= message.receivedAt, 'paused after the typing, before the message');
  const row = await gw.db('messages').where({ instance_id: 'shop', id: res.body.id }).first();
  assert.equal(row.typing_ms, 1500);
});

test('a voice note is preceded by "recording"', async () => {
  const since = Date.now();
  // An OGG/Opus header is enough for the kind check.
  const ogg = Buffer.concat([Buffer.from('OggS\x00\x02', 'latin1'), randomBytes(26), Buffer.from('OpusHead'), randomBytes(200)]);
  const res = await post('/messages/voice', { to: FAY, audio: `data:audio/ogg;base64,${ogg.toString('base64')}`, typingMs: 600 });
  assert.ok(res.status === 200 || res.status === 202, JSON.stringify(res.body));
  const message = await eventually(
    async () => {
      const row = await gw.db('messages').where({ instance_id: 'shop', id: res.body.id }).first();
      assert.notEqual(row.status, 'failed', row.error);
      return sim.received.find((m) => m.to === FAY && m.id === res.body.id);
    },
    30_000,
    'voice note',
  );
  const recording = seen(OWNER, FAY, since).find((p) => p.state === 'recording');
  assert.ok(recording, JSON.stringify(seen(OWNER, FAY, since)));
  assert.ok(message.receivedAt - recording.at >= 550, `recording ${message.receivedAt - recording.at} ms before`);
});

test("one instance's typing does not hold back another instance's sends", async () => {
  // Not awaited: the request answers once the message is out, after its typing.
  const slow = post('/messages/chat', { to: DAVE, body: 'Yavaş yazılan', typingMs: 5000 });
  await eventually(
    async () => sim.presences.find((p) => p.from === OWNER && p.to === DAVE && p.state === 'composing' && p.at > Date.now() - 2_000),
    10_000,
    'typing started',
  );
  const since = Date.now();
  const quick = await call('other', '/messages/chat', { to: DAVE, body: 'Hızlı' });
  assert.equal(quick.status, 200, JSON.stringify(quick.body));
  const quickMessage = await arrived(DAVE, 'Hızlı');
  const slowMessage = await arrived(DAVE, 'Yavaş yazılan');
  assert.ok(quickMessage.receivedAt < slowMessage.receivedAt, 'the other instance sent while this one typed');
  assert.ok(quickMessage.receivedAt - since < 3_000, `the other instance's message took ${quickMessage.receivedAt - since} ms`);
  // Typing within SEND_WAIT_MS (8 s): the request waited for it and answers sent.
  assert.equal((await slow).status, 200);
});

test('a send queued while disconnected types when it finally goes out', async () => {
  sim.faults.refuse = true;
  sim.dropConnections(OWNER);
  try {
    await eventually(async () => (await call('shop', '/status')).body.accountStatus.status !== 'open', 20_000, 'offline');
    const res = await post('/messages/chat', { to: EVE, body: 'Bağlantı gelince', typingMs: 1000 });
    assert.equal(res.status, 202, JSON.stringify(res.body));
  } finally {
    sim.faults.refuse = false;
  }
  await eventually(async () => (await call('shop', '/status')).body.accountStatus.status === 'open', 60_000, 'reconnected');
  const message = await arrived(EVE, 'Bağlantı gelince');
  const composing = sim.presences.filter((p) => p.from === OWNER && p.to === EVE && p.state === 'composing').at(-1)!;
  assert.ok(message.receivedAt - composing.at >= 950, `composing ${message.receivedAt - composing.at} ms before`);
});

test('a campaign with typing: each recipient sees "composing" for a time that follows the message length', async () => {
  const body = 'Merhaba {name}, yeni sezon ürünleri mağazada!';
  const since = Date.now();
  const res = await post('/bulk', {
    recipients: [
      { id: DAVE, name: 'Dave' },
      { id: FAY, name: 'Fay' },
    ],
    body,
    delay: 0,
    typing: true,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const job = await eventually(
    async () =>
      (await call('shop', `/bulk/${res.body.jobId}`)).body.status === 'completed'
        ? (await call('shop', `/bulk/${res.body.jobId}`)).body
        : undefined,
    60_000,
    'campaign completed',
  );
  assert.equal(job.typing, 'auto');
  for (const [phone, name] of [
    [DAVE, 'Dave'],
    [FAY, 'Fay'],
  ] as const) {
    const text = body.replace('{name}', name);
    // 50 ms a character, at least 1 s, at most 8 s.
    const expected = Math.min(8_000, Math.max(1_000, [...text].length * 50));
    const message = await arrived(phone, text);
    const composing = seen(OWNER, phone, since).find((p) => p.state === 'composing');
    assert.ok(composing, `${phone} saw typing`);
    const typed = message.receivedAt - composing.at;
    assert.ok(typed >= expected - 50 && typed < expected + 3_000, `${phone}: typing ${typed} ms, expected ${expected}`);
    const row = await gw.db('messages').where({ instance_id: 'shop', id: message.id }).first();
    assert.equal(row.typing_ms, expected);
  }
});

test('read receipts reach the sender phone: given messages, or the chat latest', async () => {
  const first = await sendFromPhone(sim, sim.user(DAVE), sim.user(OWNER), { conversation: 'Fiyat nedir?' });
  const second = await sendFromPhone(sim, sim.user(DAVE), sim.user(OWNER), { conversation: 'Kargo var mı?' });
  for (const id of [first, second])
    await eventually(async () => gw.db('messages').where({ instance_id: 'shop', id }).first(), 20_000, `message ${id} stored`);
  const readOf = (id: string) =>
    sim.deviceReceipts.find((r) => r.from === OWNER && r.to === DAVE && r.type === 'read' && r.ids.includes(id));

  assert.deepEqual((await post('/chats/read', { chatId: DAVE, messageIds: [first] })).body, { success: true });
  await eventually(async () => readOf(first), 10_000, 'read receipt for the first');
  assert.equal(readOf(second), undefined, 'only the given message');

  assert.deepEqual((await post('/chats/read', { chatId: DAVE })).body, { success: true });
  await eventually(async () => readOf(second), 10_000, 'read receipt for the chat');
  const res = await fetch(`http://127.0.0.1:${sim.port}/control/receipts?to=${DAVE}&from=${OWNER}`);
  const listed = (await res.json()) as Array<{ ids: string[]; type: string }>;
  assert.ok(listed.some((r) => r.type === 'read' && r.ids.includes(second)));
});

test('bad input is a 400 (or 404) saying why, and nothing is sent', async () => {
  const before = sim.presences.length;
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['/presence', { to: DAVE, state: 'typing' }, 400, /state must be one of/],
    ['/presence', { state: 'composing' }, 400, /to is required/],
    ['/presence', { to: 'not a number', state: 'paused' }, 400, /to/],
    ['/messages/chat', { to: DAVE, body: 'x', typingMs: 20_001 }, 400, /typingMs must be between 0 and 20000/],
    ['/messages/chat', { to: DAVE, body: 'x', typingMs: -1 }, 400, /typingMs must be between/],
    ['/messages/chat', { to: DAVE, body: 'x', typingMs: 'long' }, 400, /typingMs/],
    ['/messages/chat', { to: DAVE, body: 'x', typingMs: 1.5 }, 400, /whole number/],
    ['/bulk', { recipients: [{ id: DAVE }], body: 'x', typingMs: 60_000 }, 400, /typingMs must be between/],
    ['/bulk', { recipients: [{ id: DAVE }], body: 'x', typing: true, typingMs: 1000 }, 400, /either typing/],
    ['/bulk', { recipients: [{ id: DAVE }], body: 'x', typing: 'yes' }, 400, /typing must be true or false/],
    ['/chats/read', { chatId: DAVE, messageIds: ['3EB0NOSUCHMESSAGE'] }, 404, /no message 3EB0NOSUCHMESSAGE/],
    ['/chats/read', { chatId: DAVE, messageIds: [] }, 400, /messageIds/],
  ];
  for (const [path, body, status, error] of cases) {
    const res = await post(path, body);
    assert.equal(res.status, status, `${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`);
    assert.match(res.body.error, error, `${path} ${JSON.stringify(body)}`);
  }
  // Your own message has no read receipt.
  const own = await post('/messages/chat', { to: DAVE, body: 'Bizden' });
  const res = await post('/chats/read', { chatId: DAVE, messageIds: [own.body.id] });
  assert.equal(res.status, 400);
  assert.match(res.body.error, /your own/);
  assert.equal(sim.presences.length, before, 'no presence went out');
});
