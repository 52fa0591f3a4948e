// Incoming messages through the gateway, on real Baileys against the simulator:
// media downloaded into storage, LID senders, redeliveries, messages queued while offline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import { lidJid } from '../simulator/directory.js';
import { eventually, type Gateway } from './support/gateway.js';
import { jid, scenario } from './support/scenario.js';
import { solidPng } from './support/media.js';

const OWNER = '905556000001';
const CEM = '905556000002';
const DENIZ = '905556000003';
const EMRE = '905556000004';
const FATMA = '905556000005';
let sim: Simulator;
let gw: Gateway;

const png = solidPng(16, 90);
const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(500), Buffer.from('\n%%EOF\n')]);
const ogg = Buffer.concat([Buffer.from('OggS\x00\x02', 'latin1'), randomBytes(26), Buffer.from('OpusHead'), randomBytes(300)]);

const s = scenario({
  name: 'e2e_incoming',
  users: [
    [OWNER, 'Owner'],
    [CEM, 'Cem'],
    [DENIZ, 'Deniz'],
    [EMRE, 'Emre'],
    [FATMA, 'Fatma'],
  ],
  // In the address book: the history sync tells the gateway Emre's LID ↔ phone number mapping.
  prepare: (sim) => sim.saveContact(OWNER, EMRE, 'Emre Usta'),
  mediaCa: true,
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const receivedEvent = (id: string) =>
  eventually(
    async () =>
      (await gw.db('webhook_events').where({ instance_id: 'shop', event: 'message_received' }).whereRaw("data->>'id' = ?", [id]))[0],
    20_000,
    `message_received ${id}`,
  );

/** Fetches a media URL the gateway handed out (public, no token) and returns its bytes and type. */
async function download(url: string) {
  const path = new URL(url).pathname;
  const res = await fetch(`${gw.baseUrl}${path}`);
  assert.equal(res.status, 200, url);
  return { bytes: Buffer.from(await res.arrayBuffer()), type: res.headers.get('content-type') };
}

test('an incoming image is downloaded into media storage, and message_received carries its type, caption and url', async () => {
  const { id } = await sim.sendMedia(CEM, OWNER, { kind: 'image', bytes: png, mimetype: 'image/png', caption: 'Kırık parça' });
  const event = await receivedEvent(id);
  assert.equal(event.data.type, 'image');
  assert.equal(event.data.caption, 'Kırık parça');
  assert.equal(event.data.body, 'Kırık parça');
  assert.equal(event.data.mimetype, 'image/png');
  assert.equal(event.data.from, jid(CEM));
  const file = await download(event.data.media);
  assert.ok(file.bytes.equals(png), 'the stored file is the sent image, byte for byte');
  assert.equal(file.type, 'image/png');

  const { messages } = (await (await gw.request(`/api/instance/shop/messages?chatId=${CEM}`)).json()) as { messages: any[] };
  const stored = messages.find((m) => m.id === id);
  assert.equal(stored.type, 'image');
  assert.equal(stored.status, 'received');
  assert.equal(stored.media?.url ?? stored.media, event.data.media);
});

test('an incoming document keeps its file name, and a voice note is typed voice', async () => {
  const doc = await sim.sendMedia(CEM, OWNER, { kind: 'document', bytes: pdf, mimetype: 'application/pdf', fileName: 'fatura-2026.pdf' });
  const voice = await sim.sendMedia(CEM, OWNER, { kind: 'voice', bytes: ogg, mimetype: 'audio/ogg; codecs=opus', seconds: 3 });
  const docEvent = await receivedEvent(doc.id);
  assert.equal(docEvent.data.type, 'document');
  assert.equal(docEvent.data.mimetype, 'application/pdf');
  assert.ok((await download(docEvent.data.media)).bytes.equals(pdf));
  const row = await gw.db('messages').where({ instance_id: 'shop', id: doc.id }).first();
  assert.equal(row.media.fileName, 'fatura-2026.pdf');

  const voiceEvent = await receivedEvent(voice.id);
  assert.equal(voiceEvent.data.type, 'voice');
  assert.ok((await download(voiceEvent.data.media)).bytes.equals(ogg));
});

test('a sender addressed by LID is stored and reported by phone number, with the LID beside it', async () => {
  const id = await sendFromPhone(sim, sim.user(DENIZ), sim.user(OWNER), { conversation: 'LID ile merhaba' }, { addressing: 'lid' });
  const event = await receivedEvent(id);
  assert.equal(event.data.from, jid(DENIZ));
  assert.equal(event.data.fromLid, lidJid(sim.user(DENIZ).lid));
  const [shown] = (
    (await (await gw.request(`/api/instance/shop/chats/messages?chatId=${jid(DENIZ)}&limit=1`)).json()) as {
      messages: Array<Record<string, string>>;
    }
  ).messages;
  assert.equal(shown!.id, id);
  assert.equal(shown!.from, jid(DENIZ));
  assert.equal(shown!.fromLid, lidJid(sim.user(DENIZ).lid));
  assert.equal(event.data.chatId, jid(DENIZ));
  assert.equal(event.data.body, 'LID ile merhaba');
  const row = await gw.db('messages').where({ instance_id: 'shop', id }).first();
  assert.equal(row.chat_id, jid(DENIZ));
  assert.equal(row.from_jid, jid(DENIZ));
  assert.ok(
    await gw
      .db('chats')
      .where({ instance_id: 'shop', id: jid(DENIZ) })
      .first(),
    'the chat is kept under the phone number',
  );
  assert.equal(await gw.db('chats').where({ instance_id: 'shop' }).where('id', 'like', '%@lid').first(), undefined);
});

test('a sender addressed by LID alone is resolved from the mappings the history sync taught', async () => {
  await eventually(
    async () =>
      (
        await gw
          .db('contacts')
          .where({ instance_id: 'shop', id: jid(EMRE) })
          .first()
      )?.notify,
    20_000,
    'history sync',
  );
  const id = await sendFromPhone(
    sim,
    sim.user(EMRE),
    sim.user(OWNER),
    { conversation: 'numarasız' },
    { addressing: 'lid', hidePhoneNumber: true },
  );
  const event = await receivedEvent(id);
  assert.equal(event.data.from, jid(EMRE));
  assert.equal(event.data.chatId, jid(EMRE));
  assert.equal(event.data.fromLid, lidJid(sim.user(EMRE).lid));
});

test("a chat first seen under a LID (the number hidden) becomes one with the number's chat once WhatsApp names it", async () => {
  const hidden = await sendFromPhone(
    sim,
    sim.user(FATMA),
    sim.user(OWNER),
    { conversation: 'Numaramı görmüyorsunuz' },
    { addressing: 'lid', hidePhoneNumber: true },
  );
  const lid = lidJid(sim.user(FATMA).lid);
  const first = await receivedEvent(hidden);
  assert.equal(first.data.chatId, lid, 'nobody knows the number yet: the chat is the LID');
  assert.ok(await gw.db('chats').where({ instance_id: 'shop', id: lid }).first());

  const named = await sendFromPhone(sim, sim.user(FATMA), sim.user(OWNER), { conversation: 'Şimdi görüyorsunuz' }, { addressing: 'lid' });
  assert.equal((await receivedEvent(named)).data.chatId, jid(FATMA));
  const { messages } = (await (await gw.request(`/api/instance/shop/chats/messages?chatId=${jid(FATMA)}`)).json()) as {
    messages: Array<Record<string, string>>;
  };
  assert.deepEqual(
    messages.map((m) => [m.id, m.chatId, m.from, m.fromLid]),
    [
      [named, jid(FATMA), jid(FATMA), lid],
      [hidden, jid(FATMA), jid(FATMA), lid],
    ],
  );
  assert.equal(await gw.db('chats').where({ instance_id: 'shop', id: lid }).first(), undefined, 'no chat left under the LID');
  assert.equal(
    (
      await gw
        .db('chats')
        .where({ instance_id: 'shop', id: jid(FATMA) })
        .first()
    ).unread_count,
    2,
  );
});

test('a message WhatsApp delivers twice is stored once, with one message_received', async () => {
  const id = await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'tekrar' });
  await receivedEvent(id);
  await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'tekrar' }, { id });
  // A later message proves the redelivery was processed before we count.
  const later = await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'sonra' });
  await receivedEvent(later);
  assert.equal((await gw.db('messages').where({ instance_id: 'shop', id })).length, 1);
  const events = await gw.db('webhook_events').where({ instance_id: 'shop', event: 'message_received' }).whereRaw("data->>'id' = ?", [id]);
  assert.equal(events.length, 1);
});

test('messages sent while the instance was offline are delivered at its next login and stored', async () => {
  // The network fails: the gateway's socket drops and every reconnection is refused.
  sim.faults.refuse = true;
  sim.dropConnections(OWNER);
  await eventually(async () => (await gw.db('instances').where({ id: 'shop' }).first()).status !== 'open', 20_000, 'offline');
  const ids = [
    await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'çevrimdışıyken 1' }),
    await sendFromPhone(sim, sim.user(DENIZ), sim.user(OWNER), { conversation: 'çevrimdışıyken 2' }),
  ];
  sim.faults.refuse = false;
  for (const id of ids) await receivedEvent(id);
  const rows = await gw.db('messages').where({ instance_id: 'shop' }).whereIn('id', ids).orderBy('seq');
  assert.deepEqual(
    rows.map((r) => [r.from_jid, r.body, r.status]),
    [
      [jid(CEM), 'çevrimdışıyken 1', 'received'],
      [jid(DENIZ), 'çevrimdışıyken 2', 'received'],
    ],
  );
  assert.equal((await gw.db('instances').where({ id: 'shop' }).first()).status, 'open');
});
