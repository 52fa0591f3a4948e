// The message history API over HTTP, on rows as the gateway stores them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startGateway, type Gateway } from './support/gateway.js';

let gw: Gateway;
after(() => gw?.stop());

const OWN = '905550000001@s.whatsapp.net';
const ALI = '905551111111';
const AYSE = '905552222222';
const MEHMET = '905553333333';
const GROUP = '120363123456789012@g.us';
const jid = (phone: string) => `${phone}@s.whatsapp.net`;

type Status = 'pending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'received';
interface Message {
  id: string;
  chatId: string;
  status: Status;
  timestamp: number;
  body: string;
}

let clock = 1_711_100_000;
/** Inserts messages as the gateway stores them, oldest first, one second apart. */
async function store(instanceId: string, specs: Array<{ chat: string; status: Status; body?: string; type?: string; from?: string; extra?: object }>) {
  const rows = specs.map((spec) => {
    const outgoing = spec.status !== 'received';
    const chatId = spec.chat.includes('@') ? spec.chat : jid(spec.chat);
    return {
      instance_id: instanceId,
      id: outgoing ? `3EB0${randomBytes(9).toString('hex').toUpperCase()}` : randomBytes(10).toString('hex').toUpperCase(),
      chat_id: chatId,
      from_jid: outgoing ? OWN : (spec.from ?? chatId),
      to_jid: outgoing ? chatId : OWN,
      from_me: outgoing,
      type: spec.type ?? 'text',
      body: spec.body ?? `${spec.status} ${clock}`,
      content: outgoing ? JSON.stringify({ type: 'text', body: spec.body ?? '' }) : null,
      status: spec.status,
      timestamp: ++clock,
      ...spec.extra,
    };
  });
  await gw.db('messages').insert(rows);
  return rows.map((r) => ({ id: r.id, chatId: r.chat_id, status: r.status, timestamp: r.timestamp, body: r.body }) as Message);
}

async function get(path: string) {
  const res = await gw.request(path);
  return { status: res.status, body: (await res.json()) as any };
}
const list = async (instance: string, query = '') => {
  const { status, body } = await get(`/api/instance/${instance}/messages${query}`);
  assert.equal(status, 200, JSON.stringify(body));
  return body as { messages: Array<Record<string, any>>; total: number; page: number; limit: number };
};
const newestFirst = (messages: Message[]) => [...messages].reverse().map((m) => m.id);

// The "shop" instance: a realistic mix over three chats, plus messages of another instance in the same chats.
let shop: Message[];
before(async () => {
  gw = await startGateway({ name: 'history', workers: 0 });
  for (const id of ['shop', 'other', 'busy', 'wipe']) {
    assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id } })).status, 200);
  }
  shop = [
    ...(await store('shop', [
      { chat: ALI, status: 'received', body: 'Merhaba, fiyat nedir?' },
      { chat: ALI, status: 'read', body: 'Fiyat 100 TL' },
      { chat: ALI, status: 'received', body: 'Teşekkürler' },
      { chat: AYSE, status: 'delivered', body: 'Siparişiniz kargoda' },
      { chat: AYSE, status: 'sent', body: 'Takip no: 123' },
      { chat: GROUP, status: 'received', body: 'Toplantı yarın', from: jid(MEHMET) },
      { chat: GROUP, status: 'read', body: 'Tamam' },
      { chat: MEHMET, status: 'failed', body: 'Ulaşılamadı', extra: { error: 'not on WhatsApp' } },
      { chat: AYSE, status: 'pending', body: 'Kampanya' },
      { chat: ALI, status: 'played', type: 'voice', body: '' },
      {
        chat: ALI,
        status: 'received',
        type: 'image',
        body: 'foto',
        extra: { media: JSON.stringify({ mimetype: 'image/jpeg', url: 'http://localhost/media/shop/1711100000000-abc.jpg' }) },
      },
      { chat: AYSE, status: 'pending', body: 'Hatırlatma' },
    ])),
  ];
  await store('other', [
    { chat: ALI, status: 'received' },
    { chat: ALI, status: 'sent' },
    { chat: AYSE, status: 'failed' },
  ]);
});

test('the history lists the instance\'s messages newest first, with the fields webhooks use', async () => {
  const page = await list('shop');
  assert.equal(page.total, shop.length);
  assert.equal(page.page, 1);
  assert.equal(page.limit, 100);
  assert.deepEqual(
    page.messages.map((m) => m.id),
    newestFirst(shop),
  );
  const byBody = (body: string) => page.messages.find((m) => m.body === body)!;
  assert.deepEqual(byBody('Fiyat 100 TL'), {
    id: shop[1]!.id,
    chatId: jid(ALI),
    from: OWN,
    to: jid(ALI),
    fromMe: true,
    type: 'text',
    body: 'Fiyat 100 TL',
    status: 'read',
    timestamp: shop[1]!.timestamp,
  });
  assert.deepEqual(byBody('Toplantı yarın'), {
    id: shop[5]!.id,
    chatId: GROUP,
    from: jid(MEHMET),
    to: OWN,
    fromMe: false,
    type: 'text',
    body: 'Toplantı yarın',
    status: 'received',
    timestamp: shop[5]!.timestamp,
  });
  assert.equal(byBody('Ulaşılamadı').error, 'not on WhatsApp');
  assert.deepEqual(
    { mimetype: byBody('foto').mimetype, media: byBody('foto').media, type: byBody('foto').type },
    { mimetype: 'image/jpeg', media: 'http://localhost/media/shop/1711100000000-abc.jpg', type: 'image' },
  );
});

test('the default page holds 100 messages, and limit=1000 is the largest page', async () => {
  const busy = await store('busy', Array.from({ length: 130 }, (_, i) => ({ chat: i % 2 ? ALI : AYSE, status: i % 3 ? 'received' : 'read' }) as const));
  const first = await list('busy');
  assert.equal(first.total, 130);
  assert.equal(first.messages.length, 100);
  assert.deepEqual(
    first.messages.map((m) => m.id),
    newestFirst(busy).slice(0, 100),
  );
  const all = await list('busy', '?limit=1000');
  assert.equal(all.messages.length, 130);
  assert.equal(all.limit, 1000);
});

test('limit and page walk the history without overlap or gaps', async () => {
  const seen: string[] = [];
  for (let n = 1; n <= 3; n++) {
    const page = await list('shop', `?limit=5&page=${n}`);
    assert.equal(page.page, n);
    assert.equal(page.limit, 5);
    assert.equal(page.total, shop.length);
    assert.equal(page.messages.length, n < 3 ? 5 : shop.length - 10);
    seen.push(...page.messages.map((m) => m.id));
  }
  assert.deepEqual(seen, newestFirst(shop));
  const beyond = await list('shop', '?limit=5&page=4');
  assert.deepEqual(beyond.messages, []);
  assert.equal(beyond.total, shop.length);
});

test('status filters by exact status, and pages within the filter', async () => {
  for (const status of ['sent', 'received', 'pending', 'failed', 'delivered', 'read', 'played'] as const) {
    const page = await list('shop', `?status=${status}`);
    const expected = shop.filter((m) => m.status === status);
    assert.equal(page.total, expected.length, status);
    assert.deepEqual(
      page.messages.map((m) => m.id),
      newestFirst(expected),
      status,
    );
    assert.ok(page.messages.every((m) => m.status === status));
  }
  const received = shop.filter((m) => m.status === 'received');
  const second = await list('shop', '?status=received&limit=2&page=2');
  assert.deepEqual(
    second.messages.map((m) => m.id),
    newestFirst(received).slice(2, 4),
  );
});

test('chatId filters by chat and takes a phone number (with or without +) or a JID', async () => {
  const ali = newestFirst(shop.filter((m) => m.chatId === jid(ALI)));
  for (const chatId of [ALI, `%2B${ALI}`, jid(ALI), `${ALI}@c.us`]) {
    const page = await list('shop', `?chatId=${chatId}`);
    assert.deepEqual(
      page.messages.map((m) => m.id),
      ali,
      chatId,
    );
    assert.equal(page.total, ali.length);
  }
  const group = await list('shop', `?chatId=${GROUP}`);
  assert.deepEqual(
    group.messages.map((m) => m.id),
    newestFirst(shop.filter((m) => m.chatId === GROUP)),
  );
  const both = await list('shop', `?chatId=${AYSE}&status=pending`);
  assert.deepEqual(
    both.messages.map((m) => m.body),
    ['Hatırlatma', 'Kampanya'],
  );
  const stranger = await list('shop', '?chatId=905559999999');
  assert.deepEqual({ messages: stranger.messages, total: stranger.total }, { messages: [], total: 0 });
});

test('a bad limit, page, status or chatId is a 400 naming the parameter', async () => {
  const cases: Array<[string, string]> = [
    ['limit=0', 'limit'],
    ['limit=-1', 'limit'],
    ['limit=x', 'limit'],
    ['limit=10000', 'limit'],
    ['limit=1001', 'limit'],
    ['limit=2.5', 'limit'],
    ['limit=', 'limit'],
    ['page=0', 'page'],
    ['page=-3', 'page'],
    ['page=abc', 'page'],
    ['status=bogus', 'status'],
    ['status=SENT', 'status'],
    ['status=sent&status=read', 'status'],
    ['chatId=abc', 'chatId'],
    ['chatId=12', 'chatId'],
  ];
  for (const [query, parameter] of cases) {
    const { status, body } = await get(`/api/instance/shop/messages?${query}`);
    assert.equal(status, 400, `${query}: ${JSON.stringify(body)}`);
    assert.match(body.error, new RegExp(`^${parameter}\\b`), query);
    assert.equal(body.code, 'BAD_REQUEST');
  }
});

test('statistics count this instance only, following the status lifecycle', async () => {
  const { status, body } = await get('/api/instance/shop/messages/statistics');
  assert.equal(status, 200);
  // shop: received 4, pending 2, sent 1, delivered 1, read 2, played 1, failed 1 (12 in all).
  // A message that was read was also sent and delivered, so those counts include it.
  assert.deepEqual(body, { total: 12, sent: 5, received: 4, pending: 2, delivered: 4, read: 3, played: 1, failed: 1 });
  assert.deepEqual((await get('/api/instance/other/messages/statistics')).body, {
    total: 3,
    sent: 1,
    received: 1,
    pending: 0,
    delivered: 0,
    read: 0,
    played: 0,
    failed: 1,
  });
  assert.deepEqual((await get('/api/instance/default/messages/statistics')).body, {
    total: 0,
    sent: 0,
    received: 0,
    pending: 0,
    delivered: 0,
    read: 0,
    played: 0,
    failed: 0,
  });
});

test('GET .../chats/messages returns one chat\'s messages, newest first, 50 by default', async () => {
  const { status, body } = await get(`/api/instance/shop/chats/messages?chatId=${AYSE}`);
  assert.equal(status, 200);
  assert.deepEqual(
    body.messages.map((m: Message) => m.id),
    newestFirst(shop.filter((m) => m.chatId === jid(AYSE))),
  );
  assert.ok(body.messages.every((m: Message) => m.chatId === jid(AYSE)));

  const limited = await get(`/api/instance/shop/chats/messages?chatId=${jid(ALI)}&limit=2`);
  assert.deepEqual(
    limited.body.messages.map((m: Message) => m.id),
    newestFirst(shop.filter((m) => m.chatId === jid(ALI))).slice(0, 2),
  );

  const busy = await get(`/api/instance/busy/chats/messages?chatId=${ALI}`);
  assert.equal(busy.body.messages.length, 50);
  assert.equal(busy.body.total, 65);

  const otherInstance = await get(`/api/instance/other/chats/messages?chatId=${AYSE}`);
  assert.deepEqual(
    otherInstance.body.messages.map((m: Message) => m.status),
    ['failed'],
  );
});

test('GET .../chats/messages needs a valid chatId and a sane limit', async () => {
  for (const [query, pattern] of [
    ['', /^chatId is required$/],
    ['chatId=', /^chatId\b/],
    ['chatId=abc', /^chatId\b/],
    [`chatId=${ALI}&limit=0`, /^limit\b/],
    [`chatId=${ALI}&limit=5000`, /^limit\b/],
  ] as const) {
    const { status, body } = await get(`/api/instance/shop/chats/messages?${query}`);
    assert.equal(status, 400, `${query}: ${JSON.stringify(body)}`);
    assert.match(body.error, pattern, query);
  }
});

test('the history of an unknown instance is a 404', async () => {
  for (const path of ['messages', 'messages/statistics', `chats/messages?chatId=${ALI}`]) {
    const { status, body } = await get(`/api/instance/nope/${path}`);
    assert.equal(status, 404, path);
    assert.deepEqual(body, { error: 'instance nope not found', code: 'INSTANCE_NOT_FOUND' });
  }
  for (const method of ['POST', 'DELETE']) {
    assert.equal((await gw.request('/api/instance/nope/messages/clear', { method })).status, 404);
  }
});

test('POST and DELETE .../messages/clear empty this instance\'s history and no other', async () => {
  const otherBefore = await list('other');
  await store('wipe', [
    { chat: ALI, status: 'received' },
    { chat: ALI, status: 'read' },
  ]);
  for (const [instance, method] of [
    ['wipe', 'POST'],
    ['shop', 'DELETE'],
  ] as const) {
    const res = await gw.request(`/api/instance/${instance}/messages/clear`, { method });
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { success: true });
    const after = await list(instance);
    assert.deepEqual({ messages: after.messages, total: after.total }, { messages: [], total: 0 }, instance);
    assert.equal((await get(`/api/instance/${instance}/messages/statistics`)).body.total, 0);
    assert.equal((await gw.db('messages').where({ instance_id: instance }).count<{ count: string }[]>('* as count'))[0]!.count, '0');
  }
  // Clearing an empty history is fine too.
  assert.equal((await gw.request('/api/instance/wipe/messages/clear', { method: 'DELETE' })).status, 200);
  assert.deepEqual(await list('other'), otherBefore);
  assert.equal((await list('busy')).total, 130);
});
