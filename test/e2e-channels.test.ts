// Channels (newsletters) on real Baileys against the simulator: follow a channel by its invite link, read its
// latest posts, hear its new posts as channel_message events, unfollow it; create the account's own channel and
// post to it with the send endpoints, through the outbox.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { publish, type SimChannel } from '../simulator/channels.js';
import { eventually, type Gateway } from './support/gateway.js';
import { scenario } from './support/scenario.js';
import { solidPng } from './support/media.js';

const OWNER = '905550200001';
const ALI = '905550200002';
let sim: Simulator;
let gw: Gateway;
let news: SimChannel;

const png = solidPng(10, 60);

const s = scenario({
  name: 'e2e_channels',
  users: [
    [OWNER, 'Dükkan'],
    [ALI, 'Ali'],
  ],
  // Ali's channel, with two posts before the shop follows it.
  prepare: async (sim) => {
    news = sim.channelRegistry.create(sim.user(ALI), 'Kampanyalar', 'Haftanın fırsatları');
    await publish(sim, news, { conversation: 'İlk duyuru' });
    await publish(sim, news, { extendedTextMessage: { text: 'İkinci duyuru' } });
  },
  mediaCa: true,
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const call = (method: string, path: string, json?: unknown) => s.call<any>(path, { method, ...(json === undefined ? {} : { json }) });
const channelEvents = async (chatId: string) =>
  (await gw.db('webhook_events').where({ instance_id: 'shop', event: 'channel_message' }).whereRaw("data->>'chatId' = ?", [chatId])).map(
    (e: { data: Record<string, unknown> }) => e.data,
  );

test('a channel followed by its invite link: its latest posts, its new posts as events, then unfollowed', async () => {
  const followed = await call('POST', '/channels/follow', { invite: `https://whatsapp.com/channel/${news.invite}` });
  assert.equal(followed.status, 200, JSON.stringify(followed.body));
  assert.deepEqual(
    { ...followed.body, createdAt: typeof followed.body.createdAt },
    {
      id: news.id,
      name: 'Kampanyalar',
      description: 'Haftanın fırsatları',
      invite: news.invite,
      subscribers: 0,
      role: 'subscriber',
      createdAt: 'number',
    },
  );
  assert.ok(news.followers.has(sim.user(OWNER)), 'WhatsApp counts the account among the followers');
  assert.deepEqual(
    (await call('GET', '/channels')).body.map((c: { id: string; role: string }) => [c.id, c.role]),
    [[news.id, 'subscriber']],
  );

  const latest = await call('GET', `/channels/messages?channelId=${news.id}&limit=10`);
  assert.equal(latest.status, 200, JSON.stringify(latest.body));
  assert.equal(latest.body.name, 'Kampanyalar');
  assert.deepEqual(
    latest.body.messages.map((m: { body: string; serverId: number; type: string }) => [m.body, m.serverId, m.type]),
    [
      ['İkinci duyuru', 101, 'chat'],
      ['İlk duyuru', 100, 'chat'],
    ],
  );

  const post = await publish(sim, news, { conversation: 'Yeni ürünler geldi' });
  const [event] = await eventually(
    async () => {
      const events = await channelEvents(news.id);
      return events.length ? events : undefined;
    },
    20_000,
    'channel_message',
  );
  assert.equal(event!.id, post.id);
  assert.equal(event!.body, 'Yeni ürünler geldi');
  assert.equal(event!.fromMe, false);
  assert.equal(await gw.db('chats').where({ instance_id: 'shop', id: news.id }).first(), undefined, 'a channel is no chat');

  // Only a channel's owner posts to it.
  const refused = await call('POST', '/messages/chat', { to: news.id, body: 'Merhaba' });
  assert.equal(refused.status, 400);
  assert.match(refused.body.error, /does not own it/);

  assert.deepEqual((await call('POST', '/channels/unfollow', { channelId: news.id })).body, { success: true });
  assert.equal(news.followers.has(sim.user(OWNER)), false);
  assert.deepEqual((await call('GET', '/channels')).body, []);
});

test("the account's own channel: created through the API, posted to with the send endpoints", async () => {
  const created = await call('POST', '/channels', { name: 'Dükkan Haberleri', description: 'Siparişler ve kampanyalar' });
  assert.equal(created.status, 200, JSON.stringify(created.body));
  assert.equal(created.body.role, 'owner');
  const channel = sim.channelRegistry.channels.get(created.body.id)!;
  assert.equal(channel.owner, sim.user(OWNER));
  assert.equal(channel.name, 'Dükkan Haberleri');
  assert.equal(created.body.invite, channel.invite);

  // Ali follows it, as a phone would.
  channel.followers.add(sim.user(ALI));
  const sent = await call('POST', '/messages/chat', { to: channel.id, body: 'Bugün kargolar erken çıkıyor', typingMs: 1000 });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const post = await eventually(async () => channel.posts.find((p) => p.id === sent.body.id), 20_000, 'the post on WhatsApp');
  assert.equal(post.message.conversation ?? post.message.extendedTextMessage?.text, 'Bugün kargolar erken çıkıyor');
  await eventually(
    async () => (await gw.db('messages').where({ instance_id: 'shop', id: sent.body.id }).first()).status === 'sent',
    20_000,
    'recorded as sent',
  );
  assert.equal((await gw.db('messages').where({ instance_id: 'shop', id: sent.body.id }).first()).chat_id, channel.id);

  // Media goes as WhatsApp takes it for channels: uploaded as it is, not encrypted.
  const image = await call('POST', '/messages/image', {
    to: channel.id,
    image: `data:image/png;base64,${png.toString('base64')}`,
    caption: 'Vitrin',
  });
  assert.equal(image.status, 200, JSON.stringify(image.body));
  const photo = await eventually(async () => channel.posts.find((p) => p.id === image.body.id), 20_000, 'the image post');
  assert.equal(photo.message.imageMessage?.caption, 'Vitrin');
  assert.ok(sim.media.get(photo.message.imageMessage!)?.equals(png), 'the host has the image itself, unencrypted');
  assert.equal(await gw.db('chats').where({ instance_id: 'shop', id: channel.id }).first(), undefined);
});

test('bad channel requests say why', async () => {
  const unknown = await call('POST', '/channels/follow', { invite: 'https://whatsapp.com/channel/0029VaNoSuchChannel1' });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'CHANNEL_NOT_FOUND');
  for (const [method, path, body, field] of [
    ['POST', '/channels/follow', { invite: 'https://example.com/x' }, /invite/],
    ['POST', '/channels', { name: '' }, /name/],
    ['POST', '/channels/unfollow', { channelId: '905550200002' }, /channelId/],
    ['POST', '/messages/chat', { to: '120363999999999999@newsletter', body: 'x' }, /not one of the account's/],
  ] as const) {
    const refused = await call(method, path, body);
    assert.equal(refused.status, 400, `${path} ${JSON.stringify(body)}: ${JSON.stringify(refused.body)}`);
    assert.match(refused.body.error, field);
  }
  const badQuery = await call('GET', '/channels/messages?channelId=nope');
  assert.equal(badQuery.status, 400);
});
