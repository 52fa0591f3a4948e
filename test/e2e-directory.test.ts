// Chats, contacts and groups through the gateway, on real Baileys against the simulator.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import { eventually, type Gateway } from './support/gateway.js';
import { jid, scenario } from './support/scenario.js';

const OWNER = '905555000001';
const DAVE = '905555000002';
const EVE = '905555000003';
let sim: Simulator;
let gw: Gateway;
let groupId = '';

const s = scenario({
  name: 'e2e_directory',
  users: [
    [OWNER, 'Dükkan'],
    [DAVE, 'Dave'],
    [EVE, 'Eve'],
  ],
  prepare: async (sim) => {
    sim.user(DAVE).pictureUrl = 'https://pps.whatsapp.net/v/t61.24694-24/dave.jpg?oh=1';
    // Dave is in the owner's address book under another name; Eve is only a fellow group member.
    await sim.saveContact(OWNER, DAVE, 'Dave Muhasebe');
    groupId = sim.createGroup({ subject: 'Ekip', description: 'İş grubu', owner: OWNER, participants: [DAVE, EVE], admins: [DAVE] }).id;
  },
  instances: [{ id: 'shop', phone: OWNER, name: 'Dükkan' }],
});
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const get = async (path: string) => {
  const res = await gw.request(`/api/instance/shop${path}`);
  return { status: res.status, body: (await res.json()) as any };
};
const post = async (path: string, json: unknown) => {
  const res = await gw.request(`/api/instance/shop${path}`, { method: 'POST', json });
  return { status: res.status, body: (await res.json()) as any };
};

test("contacts come from the phone's history sync: saved names and push names", async () => {
  // The bootstrap (saved names) and the push names are two history chunks; Baileys may store them in either order.
  await eventually(
    async () => {
      const [dave, eve] = await Promise.all(
        [DAVE, EVE].map((p) =>
          gw
            .db('contacts')
            .where({ instance_id: 'shop', id: jid(p) })
            .first(),
        ),
      );
      return dave?.name && dave.notify && eve?.notify;
    },
    20_000,
    'both history chunks stored',
  );
  const { body: contacts } = await get('/contacts');
  assert.deepEqual(
    contacts.find((c: { id: string }) => c.id === jid(DAVE)),
    { id: jid(DAVE), name: 'Dave Muhasebe', notify: 'Dave' },
  );
  // Not in the address book: the push name stands in for the name.
  assert.deepEqual(
    contacts.find((c: { id: string }) => c.id === jid(EVE)),
    { id: jid(EVE), name: 'Eve', notify: 'Eve' },
  );
  assert.equal(
    contacts.some((c: { id: string }) => c.id === jid(OWNER)),
    false,
    'the account itself is not a contact',
  );
  assert.ok((await get('/contacts/ids')).body.includes(jid(EVE)));
  assert.deepEqual((await get(`/contacts/contact?chatId=${DAVE}`)).body, { id: jid(DAVE), name: 'Dave Muhasebe', notify: 'Dave' });
  assert.equal((await get('/contacts/contact?chatId=905550009999')).status, 404);
});

test('check, profile picture, block and unblock ask WhatsApp live', async () => {
  assert.deepEqual((await get(`/contacts/check?chatId=%2B${DAVE}`)).body, { exists: true, jid: jid(DAVE) });
  assert.equal((await get('/contacts/check?chatId=905550009999')).body.exists, false);
  assert.deepEqual((await get(`/contacts/image?chatId=${DAVE}`)).body, { url: 'https://pps.whatsapp.net/v/t61.24694-24/dave.jpg?oh=1' });
  assert.deepEqual((await get(`/contacts/image?chatId=${EVE}`)).body, { url: null });

  assert.deepEqual((await post('/contacts/block', { chatId: DAVE })).body, { success: true });
  assert.equal(sim.isBlocked(OWNER, jid(DAVE)), true);
  assert.deepEqual((await post('/contacts/unblock', { chatId: DAVE })).body, { success: true });
  assert.equal(sim.isBlocked(OWNER, jid(DAVE)), false);
});

test("groups are listed from WhatsApp, and one group's details are fetched live", async () => {
  const groups = await eventually(async () => ((await get('/groups')).body as any[]).find((g) => g.id === groupId), 20_000, 'groups');
  assert.equal(groups.name, 'Ekip');
  assert.equal(groups.participants, 3);
  assert.equal(groups.desc, 'İş grubu');
  assert.ok((await get('/groups/ids')).body.includes(groupId));
  const detail = (await get(`/groups/group?groupId=${groupId}`)).body;
  assert.equal(detail.name, 'Ekip');
  assert.equal(detail.owner, jid(OWNER));
  assert.deepEqual(
    [...detail.participants].sort((a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id)),
    [
      // The LID beside each member's number, as WhatsApp gives it.
      { id: jid(OWNER), lid: `${sim.user(OWNER).lid}@lid`, admin: 'superadmin' },
      { id: jid(DAVE), lid: `${sim.user(DAVE).lid}@lid`, admin: 'admin' },
      { id: jid(EVE), lid: `${sim.user(EVE).lid}@lid`, admin: null },
    ],
  );
  assert.equal((await get(`/groups/group?groupId=${DAVE}`)).status, 400);
});

test('a group the account is added to while connected is listed at once, without asking for it', async () => {
  const later = sim.createGroup({ subject: 'Sonradan', owner: DAVE, participants: [EVE] });
  assert.equal(
    (await get('/groups')).body.some((g: { id: string }) => g.id === later.id),
    false,
  );
  await sim.addToGroup(later.id, OWNER, DAVE);
  const listed = await eventually(
    async () => (await get('/groups')).body.find((g: { id: string }) => g.id === later.id),
    20_000,
    'the new group in /groups',
  );
  assert.equal(listed.name, 'Sonradan');
  assert.equal(listed.participants, 3);
  // A member added later updates the count too.
  await sim.addToGroup(later.id, '905555000009', DAVE);
  await eventually(
    async () => (await get('/groups')).body.find((g: { id: string }) => g.id === later.id)?.participants === 4 || undefined,
    20_000,
    'four members',
  );
});

test('a contact saved on the phone while connected gets its name at once, before writing', async () => {
  const FRANK = '905555000004';
  sim.addUser(FRANK, 'Frank');
  assert.equal((await get(`/contacts/contact?chatId=${FRANK}`)).status, 404);
  // As WhatsApp does it: an app-state patch (contactAction) the linked device fetches after a server_sync notification.
  await sim.saveContact(OWNER, FRANK, 'Frank Kargo');
  await sim.saveContact(OWNER, EVE, 'Eve Tasarım');
  const frank = await eventually(
    async () => {
      const res = await get(`/contacts/contact?chatId=${FRANK}`);
      return res.status === 200 ? res.body : undefined;
    },
    20_000,
    'Frank in the contacts',
  );
  assert.deepEqual(frank, { id: jid(FRANK), name: 'Frank Kargo', notify: null });
  // Eve had only her push name; the saved name now comes first, the push name stays.
  const eve = await eventually(
    async () =>
      (await get(`/contacts/contact?chatId=${EVE}`)).body.name === 'Eve Tasarım'
        ? (await get(`/contacts/contact?chatId=${EVE}`)).body
        : undefined,
    20_000,
    "Eve's saved name",
  );
  assert.deepEqual(eve, { id: jid(EVE), name: 'Eve Tasarım', notify: 'Eve' });
});

test("a group send reaches every participant, and a participant's message arrives with its sender", async () => {
  const sent = await post('/messages/chat', { to: groupId, body: 'Toplantı 10:00' });
  assert.equal(sent.status, 200);
  await eventually(
    async () => [DAVE, EVE].every((p) => sim.received.some((m) => m.id === sent.body.id && m.to === p && m.group === groupId)),
    20_000,
    'both participants',
  );
  const text = (m: (typeof sim.received)[number]) => m.message.conversation ?? m.message.extendedTextMessage?.text;
  assert.deepEqual(
    [DAVE, EVE].map((p) => text(sim.received.find((m) => m.id === sent.body.id && m.to === p)!)),
    ['Toplantı 10:00', 'Toplantı 10:00'],
  );

  const id = await sim.sendGroupText(EVE, groupId, 'Tamam');
  const event = await eventually(
    async () =>
      (await gw.db('webhook_events').where({ instance_id: 'shop', event: 'message_received' }).whereRaw("data->>'id' = ?", [id]))[0],
    20_000,
    'group message',
  );
  assert.equal(event.data.chatId, groupId);
  assert.equal(event.data.from, jid(EVE));
  assert.equal(event.data.body, 'Tamam');
});

test('chats track incoming messages; read, archive, unarchive and delete reach WhatsApp', async () => {
  await sendFromPhone(sim, sim.user(DAVE), sim.user(OWNER), { conversation: 'selam' });
  const chat = await eventually(
    async () => ((await get('/chats')).body as any[]).find((c) => c.id === jid(DAVE) && c.unreadCount > 0),
    20_000,
    'chat with unread',
  );
  assert.equal(chat.name, 'Dave Muhasebe');
  assert.equal(typeof chat.lastMessage, 'number');
  assert.equal(chat.archived, false);

  assert.deepEqual((await post('/chats/read', { chatId: DAVE })).body, { success: true });
  assert.equal(((await get('/chats')).body as any[]).find((c) => c.id === jid(DAVE)).unreadCount, 0);

  assert.deepEqual((await post('/chats/archive', { chatId: DAVE })).body, { success: true });
  assert.equal(((await get('/chats')).body as any[]).find((c) => c.id === jid(DAVE)).archived, true);
  const mutations = () => sim.appState.mutations(sim.user(OWNER));
  assert.ok(
    mutations().some((m) => m.index[0] === 'archive' && m.index[1] === jid(DAVE) && m.value?.archiveChatAction?.archived === true),
    JSON.stringify(mutations().map((m) => m.index)),
  );

  await post('/chats/unarchive', { chatId: DAVE });
  assert.equal(((await get('/chats')).body as any[]).find((c) => c.id === jid(DAVE)).archived, false);
  assert.ok(mutations().some((m) => m.index[0] === 'archive' && m.value?.archiveChatAction?.archived === false));

  assert.deepEqual((await post('/chats/delete', { chatId: DAVE })).body, { success: true });
  assert.ok(
    mutations().some((m) => m.index[0] === 'deleteChat' && m.index[1] === jid(DAVE)),
    JSON.stringify(mutations().map((m) => m.index)),
  );
  assert.equal(
    ((await get('/chats')).body as any[]).some((c) => c.id === jid(DAVE)),
    false,
  );
  assert.equal((await get(`/chats/messages?chatId=${DAVE}`)).body.messages.length, 0);
  assert.ok((await get('/chats/ids')).body.includes(groupId));
});

test('live calls on an instance that is not connected answer 409', async () => {
  await gw.request('/api/instance', { method: 'POST', json: { id: 'offline' } });
  const res = await gw.request(`/api/instance/offline/contacts/check?chatId=${DAVE}`);
  assert.equal(res.status, 409);
  assert.match(((await res.json()) as { error: string }).error, /not connected/);
  assert.equal((await gw.request('/api/instance/shop/contacts/check')).status, 400);
});
