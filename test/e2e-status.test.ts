// Statuses (stories) on real Baileys against the simulator: POST .../status/text, /image, /video post to the
// account's status through the outbox, for a given list or the saved contacts (sender keys, as WhatsApp does
// it); views come back as acks; the contacts' statuses are stored with their media, listed by GET .../status/list
// and announced by status_received.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { mediaMessage } from '../simulator/mediaMessages.js';
import { postStatus, STATUS_JID, viewStatus } from '../simulator/status.js';
import { eventually, type Gateway } from './support/gateway.js';
import { jid, scenario } from './support/scenario.js';
import { fakeMp4, solidPng } from './support/media.js';

const OWNER = '905559000001';
const CEM = '905559000002';
const DENIZ = '905559000003';
const ALI = '905559000004';
let sim: Simulator;
let gw: Gateway;

const png = solidPng(12, 200);

const mp4 = fakeMp4();

const s = scenario({
  name: 'e2e_status',
  users: [
    [OWNER, 'Dükkan'],
    [CEM, 'Cem'],
    [DENIZ, 'Deniz'],
    [ALI, 'Ali'],
  ],
  mediaCa: true,
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const post = (path: string, json: unknown) => s.call<any>(path, { method: 'POST', json });
/** What `phone` got of status `id` (its phone shows it among its contacts' statuses). */
const seenBy = (phone: string, id: string) => sim.received.find((m) => m.id === id && m.to === phone && m.group === STATUS_JID);
const eventOf = (event: string, id: string) =>
  eventually(
    async () => (await gw.db('webhook_events').where({ instance_id: 'shop', event }).whereRaw("data->>'id' = ?", [id]))[0]?.data,
    20_000,
    `${event} ${id}`,
  );

test('a text status goes to the given list only, with its colour and font, through the outbox', async () => {
  const sent = await post('/status/text', {
    body: 'Bugün %20 indirim!',
    backgroundColor: '#1f7a4d',
    font: 2,
    to: [CEM, `${DENIZ}@s.whatsapp.net`],
  });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  assert.equal(sent.body.sent, true);
  const id = sent.body.id as string;
  for (const phone of [CEM, DENIZ]) await eventually(async () => seenBy(phone, id), 20_000, `the status on ${phone}'s phone`);
  const shown = seenBy(CEM, id)!.message.extendedTextMessage!;
  assert.equal(shown.text, 'Bugün %20 indirim!');
  assert.equal(shown.backgroundArgb, 0xff1f7a4d);
  assert.equal(shown.font, 2);
  assert.equal(seenBy(ALI, id), undefined, 'Ali was not in the list');
  const stored = await gw.db('messages').where({ instance_id: 'shop', id }).first();
  assert.equal(stored.chat_id, STATUS_JID);
  assert.equal(stored.status === 'sent' || stored.status === 'delivered', true, stored.status);
  assert.equal(await gw.db('chats').where({ instance_id: 'shop', id: STATUS_JID }).first(), undefined, 'a status is no chat');

  // A viewer's receipt is the status's read ack.
  await viewStatus(sim, sim.user(CEM), sim.user(OWNER), id);
  await eventually(
    async () => (await gw.db('messages').where({ instance_id: 'shop', id }).first()).status === 'read',
    20_000,
    'the status read',
  );
  const acks = await gw.db('webhook_events').where({ instance_id: 'shop', event: 'message_ack' }).whereRaw("data->>'id' = ?", [id]);
  assert.ok(acks.some((a: { data: { status: string } }) => a.data.status === 'read'));
  const { body } = await s.call<any>('/status/list');
  const listed = body.statuses.find((st: { id: string }) => st.id === id);
  assert.equal(listed.status, 'read');
  assert.equal(listed.fromMe, true);
  assert.equal(listed.expiresAt, listed.timestamp + 86_400);
});

test('without a list a status goes to the saved contacts; with none saved it says so', async () => {
  const none = await post('/status/text', { body: 'Merhaba' });
  assert.equal(none.status, 400);
  assert.match(none.body.error, /no saved contacts/);
  await sim.saveContact(OWNER, DENIZ, 'Deniz Hanım');
  await eventually(
    async () =>
      (
        await gw
          .db('contacts')
          .where({ instance_id: 'shop', id: jid(DENIZ) })
          .first()
      )?.name === 'Deniz Hanım',
    20_000,
    'the saved contact',
  );
  const sent = await post('/status/text', { body: 'Yalnız rehberdekilere' });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  await eventually(async () => seenBy(DENIZ, sent.body.id), 20_000, "the status on Deniz's phone");
  assert.equal(seenBy(CEM, sent.body.id), undefined);

  for (const [body, field] of [
    [{ body: '' }, /body/],
    [{ body: 'x', backgroundColor: 'green', to: [CEM] }, /backgroundColor/],
    [{ body: 'x', to: [] }, /to must not be empty/],
    [{ body: 'x', to: ['120363000000000001@g.us'] }, /user/],
    [{ body: 'x'.repeat(701), to: [CEM] }, /700/],
  ] as const) {
    const refused = await post('/status/text', body);
    assert.equal(refused.status, 400, JSON.stringify(body));
    assert.match(refused.body.error, field);
  }
});

test('an image and a video status reach the phones as media they can download', async () => {
  const sent = await post('/status/image', { image: `data:image/png;base64,${png.toString('base64')}`, caption: 'Yeni vitrin', to: [CEM] });
  assert.equal(sent.status, 200, JSON.stringify(sent.body));
  const got = await eventually(async () => seenBy(CEM, sent.body.id), 20_000, 'the image status');
  assert.equal(got.message.imageMessage?.caption, 'Yeni vitrin');
  assert.ok(got.media?.bytes.equals(png), 'the phone downloaded and decrypted the very image');

  const clip = await post('/status/video', { video: `data:video/mp4;base64,${mp4.toString('base64')}`, caption: 'Tanıtım', to: [DENIZ] });
  assert.equal(clip.status, 200, JSON.stringify(clip.body));
  const video = await eventually(async () => seenBy(DENIZ, clip.body.id), 20_000, 'the video status');
  assert.equal(video.message.videoMessage?.caption, 'Tanıtım');
  assert.ok(video.media?.bytes.equals(mp4), 'the phone downloaded and decrypted the very video');
  // An image is no video.
  const wrong = await post('/status/video', { video: `data:image/png;base64,${png.toString('base64')}`, to: [DENIZ] });
  assert.equal(wrong.status, 400);
  assert.equal(wrong.body.code, 'MEDIA_KIND');
});

test("a contact's statuses are stored with their media, listed by GET .../status/list?from= and announced", async () => {
  const text = await postStatus(sim, sim.user(CEM), [sim.user(OWNER), sim.user(ALI)], { extendedTextMessage: { text: 'Tatildeyim 🌴' } });
  const image = await postStatus(
    sim,
    sim.user(CEM),
    [sim.user(OWNER)],
    await mediaMessage(sim, { kind: 'image', bytes: png, mimetype: 'image/png', caption: 'Deniz kenarı' }),
  );
  const event = await eventOf('status_received', text);
  assert.equal(event.from, jid(CEM));
  assert.equal(event.chatId, STATUS_JID);
  assert.equal(event.body, 'Tatildeyim 🌴');
  const withMedia = await eventOf('status_received', image);
  assert.equal(withMedia.caption, 'Deniz kenarı');
  const file = await fetch(`${gw.baseUrl}${new URL(withMedia.media).pathname}`);
  assert.ok(Buffer.from(await file.arrayBuffer()).equals(png));

  const { body } = await s.call<any>(`/status/list?from=${CEM}`);
  assert.deepEqual(
    body.statuses.map((st: { id: string; from: string; fromMe: boolean }) => [st.id, st.from, st.fromMe]),
    [
      [image, jid(CEM), false],
      [text, jid(CEM), false],
    ],
  );
  assert.equal(body.total, 2);
  // Not a message: no message_received, no chat, no chatbot.
  const received = await gw
    .db('webhook_events')
    .where({ instance_id: 'shop', event: 'message_received' })
    .whereRaw("data->>'id' = ?", [text]);
  assert.equal(received.length, 0);
  assert.equal(await gw.db('chats').where({ instance_id: 'shop', id: STATUS_JID }).first(), undefined);
});
