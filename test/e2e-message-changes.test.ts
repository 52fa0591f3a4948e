// Edits and deletions for everyone, both ways, on real Baileys against the simulator: a contact's or the
// account's own phone's edit or delete changes the stored message (its edits kept, a deleted one's text and
// media erased unless the instance keeps them) with message_edited / message_revoked events; and
// POST .../messages/edit and .../messages/delete change the message on the phone and in the history.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { mountControlApi } from '../simulator/control.js';
import { sendFromOwnPhone, sendFromPhone } from '../simulator/messages.js';
import { editFromPhone, revokeFromPhone } from '../simulator/changes.js';
import { eventually, type Gateway } from './support/gateway.js';
import { jid, scenario } from './support/scenario.js';
import { solidPng } from './support/media.js';

const OWNER = '905557000001';
const CEM = '905557000002';
const DENIZ = '905557000003';
const ALI = '905557000004';
let sim: Simulator;
let gw: Gateway;
let groupId = '';

const png = solidPng(8, 120);

const s = scenario({
  name: 'e2e_message_changes',
  users: [
    [OWNER, 'Dükkan'],
    [CEM, 'Cem'],
    [DENIZ, 'Deniz'],
    [ALI, 'Ali'],
  ],
  // Ali administers the group; Deniz and the shop are members.
  prepare: (sim) => {
    mountControlApi(sim);
    groupId = sim.createGroup({ subject: 'Sipariş grubu', owner: ALI, participants: [OWNER, DENIZ] }).id;
  },
  mediaCa: true,
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const events = async (event: string, id: string) =>
  (await gw.db('webhook_events').where({ instance_id: 'shop', event }).whereRaw("data->>'id' = ?", [id]).orderBy('seq')).map(
    (e: { data: Record<string, unknown> }) => e.data,
  );
const eventOf = (event: string, id: string) => eventually(async () => (await events(event, id))[0], 20_000, `${event} ${id}`);
const stored = async (id: string, chatId: string) => {
  const { body } = await s.call<{ messages: any[] }>(`/messages?chatId=${chatId}`);
  return body.messages.find((m) => m.id === id);
};
const received = (id: string) => eventually(async () => (await events('message_received', id))[0], 20_000, `message ${id}`);
const onPhone = (to: string, id: string) =>
  eventually(async () => sim.received.find((m) => m.to === to && m.id === id && !m.ownCopy), 20_000, `${id} on ${to}'s phone`);

test("a contact's edit changes the stored text, keeps the old one in its edits and emits message_edited", async () => {
  const id = await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'Siparişim 1042' });
  await received(id);
  await editFromPhone(sim, { from: sim.user(CEM), to: sim.user(OWNER), id, body: 'Siparişim 1043' });
  const edited = await eventOf('message_edited', id);
  assert.deepEqual(
    { ...edited, editedAt: typeof edited.editedAt },
    {
      id,
      chatId: jid(CEM),
      body: 'Siparişim 1043',
      previous: 'Siparişim 1042',
      editedAt: 'number',
      from: jid(CEM),
      fromLid: `${sim.user(CEM).lid}@lid`,
      fromMe: false,
    },
  );
  await editFromPhone(sim, { from: sim.user(CEM), to: sim.user(OWNER), id, body: 'Siparişim 1044' });
  await eventually(async () => (await events('message_edited', id)).length === 2, 20_000, 'the second edit');

  const message = await stored(id, CEM);
  assert.equal(message.body, 'Siparişim 1044');
  assert.equal(typeof message.editedAt, 'number');
  assert.deepEqual(
    message.edits.map((e: { body: string; previous: string }) => [e.previous, e.body]),
    [
      ['Siparişim 1042', 'Siparişim 1043'],
      ['Siparişim 1043', 'Siparişim 1044'],
    ],
  );
  assert.equal(message.revoked, undefined);
});

test('an edit from anyone but the sender, and an edit heard twice, change nothing', async () => {
  const id = await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'Adresim Kadıköy' });
  await received(id);
  // Deniz's phone claims to edit Cem's message (its key says "mine"): WhatsApp's apps ignore it, so does the gateway.
  await editFromPhone(sim, { from: sim.user(DENIZ), to: sim.user(OWNER), id, body: 'Adresim Beşiktaş' });
  // The same edit of Cem's, delivered twice (the same protocol message id).
  const editId = await editFromPhone(sim, { from: sim.user(CEM), to: sim.user(OWNER), id, body: 'Adresim Moda' });
  await sendFromPhone(
    sim,
    sim.user(CEM),
    sim.user(OWNER),
    {
      editedMessage: {
        message: {
          protocolMessage: { key: { remoteJid: jid(OWNER), fromMe: true, id }, type: 14, editedMessage: { conversation: 'Adresim Moda' } },
        },
      },
    },
    { id: editId, stanzaType: 'text' },
  );
  // A later message from Cem, so everything before it was handled.
  await received(await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'teşekkürler' }));
  const edits = await events('message_edited', id);
  assert.deepEqual(
    edits.map((e) => [e.body, e.from]),
    [['Adresim Moda', jid(CEM)]],
  );
  assert.equal((await stored(id, CEM)).edits.length, 1);
});

test("a contact's delete for everyone marks the message, erases its text and media, and emits message_revoked", async () => {
  const text = await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'Kart numaram 4111...' });
  const { id: image } = await sim.sendMedia(CEM, OWNER, { kind: 'image', bytes: png, mimetype: 'image/png', caption: 'Kimlik' });
  const media = (await received(image)).media as string;
  assert.equal((await fetch(`${gw.baseUrl}${new URL(media).pathname}`)).status, 200);
  await received(text);

  await revokeFromPhone(sim, { from: sim.user(CEM), to: sim.user(OWNER), id: text });
  await revokeFromPhone(sim, { from: sim.user(CEM), to: sim.user(OWNER), id: image });
  const revoked = await eventOf('message_revoked', text);
  assert.deepEqual(
    { ...revoked, revokedAt: typeof revoked.revokedAt },
    {
      id: text,
      chatId: jid(CEM),
      by: jid(CEM),
      byLid: `${sim.user(CEM).lid}@lid`,
      fromMe: false,
      revokedAt: 'number',
    },
  );
  await eventOf('message_revoked', image);

  const gone = await stored(text, CEM);
  assert.equal(gone.revoked, true);
  assert.equal(gone.revokedBy, jid(CEM));
  assert.equal(gone.body, '');
  const goneImage = await stored(image, CEM);
  assert.equal(goneImage.body, '');
  assert.equal(goneImage.media, undefined);
  await eventually(async () => (await fetch(`${gw.baseUrl}${new URL(media).pathname}`)).status === 404, 10_000, 'the file removed');
  // A deleted message is not edited any more.
  await editFromPhone(sim, { from: sim.user(CEM), to: sim.user(OWNER), id: text, body: 'geri' });
  await received(await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'tamam' }));
  assert.equal((await events('message_edited', text)).length, 0);
});

test('an instance that keeps deleted messages keeps their text', async () => {
  assert.equal((await s.call('/settings', { method: 'POST', json: { keepRevokedMessages: true } })).status, 200);
  assert.equal((await s.call('/settings')).body.keepRevokedMessages, 'true');
  try {
    const id = await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'Yanlış kişiye yazdım' });
    await received(id);
    await revokeFromPhone(sim, { from: sim.user(CEM), to: sim.user(OWNER), id });
    await eventOf('message_revoked', id);
    const kept = await stored(id, CEM);
    assert.equal(kept.revoked, true);
    assert.equal(kept.body, 'Yanlış kişiye yazdım');
  } finally {
    await s.call('/settings', { method: 'POST', json: { keepRevokedMessages: false } });
  }
});

test("the account's own phone edits and deletes its messages: the same events, fromMe", async () => {
  const id = await sendFromOwnPhone(sim, sim.user(OWNER), sim.user(CEM), { conversation: 'Kargonuz yarın' });
  await received(id);
  await editFromPhone(sim, { from: sim.user(OWNER), to: sim.user(CEM), id, body: 'Kargonuz bugün', own: true });
  const edited = await eventOf('message_edited', id);
  assert.equal(edited.body, 'Kargonuz bugün');
  assert.equal(edited.previous, 'Kargonuz yarın');
  assert.equal(edited.fromMe, true);
  await revokeFromPhone(sim, { from: sim.user(OWNER), to: sim.user(CEM), id, own: true });
  const revoked = await eventOf('message_revoked', id);
  assert.equal(revoked.by, jid(OWNER));
  assert.equal(revoked.fromMe, true);
  assert.equal((await stored(id, CEM)).revoked, true);
});

test("in a group an admin deletes a member's message; a member cannot delete another's", async () => {
  const first = await sim.sendGroupText(DENIZ, groupId, 'Toplantı saat 3');
  const second = await sim.sendGroupText(DENIZ, groupId, 'Toplantı saat 4');
  await received(first);
  await received(second);
  // Deniz is no admin: Deniz claiming to delete Ali's message changes nothing.
  const alis = await sim.sendGroupText(ALI, groupId, 'Ben de geliyorum');
  await received(alis);
  await revokeFromPhone(sim, { from: sim.user(DENIZ), group: groupId, id: alis, author: sim.user(ALI) });
  // Ali, the admin, deletes Deniz's first message.
  await revokeFromPhone(sim, { from: sim.user(ALI), group: groupId, id: first, author: sim.user(DENIZ) });
  const revoked = await eventOf('message_revoked', first);
  assert.equal(revoked.chatId, groupId);
  assert.equal(revoked.by, jid(ALI));
  // Deniz edits the second: an edit in a group, by its sender.
  await editFromPhone(sim, { from: sim.user(DENIZ), group: groupId, id: second, body: 'Toplantı saat 5' });
  assert.equal((await eventOf('message_edited', second)).body, 'Toplantı saat 5');
  assert.equal((await events('message_revoked', alis)).length, 0);
  assert.equal((await stored(alis, groupId)).revoked, undefined);
});

test('POST .../messages/edit edits a sent text on the phone and in the history, and says why it cannot', async () => {
  const sent = await s.call('/messages/chat', { method: 'POST', json: { to: CEM, body: 'Fiyat 100 TL' } });
  assert.equal(sent.status, 200);
  const id = sent.body.id as string;
  await onPhone(CEM, id);

  const edit = await s.call('/messages/edit', { method: 'POST', json: { to: CEM, msgId: id, body: 'Fiyat 90 TL' } });
  assert.equal(edit.status, 200, JSON.stringify(edit.body));
  assert.equal(edit.body.edited, true);
  await eventually(
    async () => sim.received.find((m) => m.id === id && m.to === CEM && !m.ownCopy)?.edits?.at(-1) === 'Fiyat 90 TL',
    20_000,
    'the phone shows the edit',
  );
  const event = await eventOf('message_edited', id);
  assert.equal(event.previous, 'Fiyat 100 TL');
  assert.equal(event.fromMe, true);
  assert.equal((await stored(id, CEM)).body, 'Fiyat 90 TL');

  // Not editable: a contact's message, an unknown one, a reaction, and one sent more than 15 minutes ago.
  const theirs = await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'Olur' });
  await received(theirs);
  const refused = await s.call('/messages/edit', { method: 'POST', json: { to: CEM, msgId: theirs, body: 'x' } });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.code, 'NOT_EDITABLE');
  assert.match(refused.body.error, /your own messages/);
  const unknown = await s.call('/messages/edit', { method: 'POST', json: { to: CEM, msgId: '3EB0NOTHERE', body: 'x' } });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'MESSAGE_NOT_FOUND');
  const missing = await s.call('/messages/edit', { method: 'POST', json: { to: CEM, msgId: id } });
  assert.equal(missing.status, 400);
  assert.match(missing.body.error, /body/);
  const old = (await s.call('/messages/chat', { method: 'POST', json: { to: CEM, body: 'Eski mesaj' } })).body.id as string;
  // Marked sent first (the answer can come before that write, which also sets sent_at), then made old.
  await eventually(async () => (await stored(old, CEM))?.status !== 'pending', 20_000, 'the old message marked sent');
  await gw
    .db('messages')
    .where({ instance_id: 'shop', id: old })
    .update({ sent_at: new Date(Date.now() - 16 * 60_000) });
  const late = await s.call('/messages/edit', { method: 'POST', json: { to: CEM, msgId: old, body: 'x' } });
  assert.equal(late.status, 400);
  assert.equal(late.body.code, 'NOT_EDITABLE');
  assert.match(late.body.error, /15 minutes/);
});

test("POST .../messages/edit edits an image's caption; .../messages/delete deletes it on the phone and marks it", async () => {
  const dataUri = `data:image/png;base64,${png.toString('base64')}`;
  const sent = await s.call('/messages/image', { method: 'POST', json: { to: CEM, image: dataUri, caption: 'Yeni ürün' } });
  assert.equal(sent.status, 200);
  const id = sent.body.id as string;
  await onPhone(CEM, id);
  const edit = await s.call('/messages/edit', { method: 'POST', json: { to: CEM, msgId: id, body: 'Yeni ürün: %20 indirim' } });
  assert.equal(edit.status, 200);
  await eventually(
    async () => sim.received.find((m) => m.id === id && m.to === CEM && !m.ownCopy)?.edits?.at(-1) === 'Yeni ürün: %20 indirim',
    20_000,
    'the phone shows the new caption',
  );
  const protocol = sim.received.find((m) => m.id === edit.body.id && m.to === CEM)!.message;
  assert.ok(protocol.protocolMessage?.editedMessage?.imageMessage, 'a caption is edited as an image message, not a text');

  const deleted = await s.call('/messages/delete', { method: 'POST', json: { to: CEM, msgId: id } });
  assert.equal(deleted.status, 200);
  await eventually(
    async () => sim.received.find((m) => m.id === id && m.to === CEM && !m.ownCopy)?.revoked,
    20_000,
    'the phone shows it deleted',
  );
  const revoked = await eventOf('message_revoked', id);
  assert.equal(revoked.by, jid(OWNER));
  assert.equal(revoked.fromMe, true);
  const message = await stored(id, CEM);
  assert.equal(message.revoked, true);
  assert.equal(message.body, '');
  // Deleted: no more edits.
  const again = await s.call('/messages/edit', { method: 'POST', json: { to: CEM, msgId: id, body: 'x' } });
  assert.equal(again.status, 400);
  assert.match(again.body.error, /deleted/);
});
