/**
 * Groups in the simulator, end to end with the real Baileys: metadata
 * queries, sends to a group decrypted by every member's phone (sender keys),
 * and group texts from a member's phone arriving at Baileys.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { WAMessage } from '@whiskeysockets/baileys';
import { Simulator } from '../simulator/simulator.js';
import type { ReceivedMessage } from '../simulator/messages.js';
import { BareClient, waitFor } from './support/bareBaileys.js';

let sim: Simulator;
before(async () => {
  sim = await Simulator.start({ trace: process.env.SIM_TRACE ? (line) => process.stderr.write(`${line}\n`) : undefined });
});
after(() => sim?.stop());

async function pairedClient(phone: string): Promise<BareClient> {
  sim.addUser(phone);
  const client = new BareClient(sim.url);
  client.connect();
  const qr = await waitFor<string>(client, 'qr');
  const opened = waitFor(client, 'open', 20_000);
  await sim.scanQr(phone, qr);
  await opened;
  return client;
}

/** Resolves with the first `count` messages the simulated phones record for which `filter` holds. */
function collect(count: number, filter: (m: ReceivedMessage) => boolean): Promise<ReceivedMessage[]> {
  const got: ReceivedMessage[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`got ${got.length} of ${count} messages`)), 10_000);
    const off = sim.onMessage((m) => {
      if (!filter(m)) return;
      got.push(m);
      if (got.length < count) return;
      clearTimeout(timer);
      off();
      resolve(got);
    });
  });
}

const textOf = (m: { conversation?: string | null; extendedTextMessage?: { text?: string | null } | null } | null | undefined) =>
  m?.conversation ?? m?.extendedTextMessage?.text;

test('groupMetadata and groupFetchAllParticipating describe the groups the account is in, with both ids of each member', async () => {
  const client = await pairedClient('905551110001');
  const ali = sim.addUser('905551110002', 'Ali');
  const group = sim.createGroup({
    subject: 'Aile',
    description: 'Aile grubu',
    owner: '905551110001',
    participants: ['905551110002', '905551110003'],
    admins: ['905551110002'],
  });
  const other = sim.createGroup({ subject: 'Not ours', owner: '905551110002', participants: ['905551110003'] });
  assert.match(group.id, /^120363\d+@g\.us$/);

  const metadata = await client.socket!.groupMetadata(group.id);
  assert.equal(metadata.id, group.id);
  assert.equal(metadata.subject, 'Aile');
  assert.equal(metadata.desc, 'Aile grubu');
  assert.equal(metadata.owner, '905551110001@s.whatsapp.net');
  assert.equal(metadata.creation, group.creation);
  assert.equal(metadata.size, 3);
  assert.deepEqual(
    metadata.participants.map((p) => [p.id, p.lid, p.admin]),
    [
      ['905551110001@s.whatsapp.net', `${sim.user('905551110001').lid}@lid`, 'superadmin'],
      ['905551110002@s.whatsapp.net', `${ali.lid}@lid`, 'admin'],
      ['905551110003@s.whatsapp.net', `${sim.user('905551110003').lid}@lid`, null],
    ],
  );

  const all = await client.socket!.groupFetchAllParticipating();
  assert.deepEqual(Object.keys(all), [group.id]);
  assert.equal(all[group.id]!.participants.length, 3);

  // Unknown groups and groups the account is not in are refused, as WhatsApp does.
  await assert.rejects(client.socket!.groupMetadata('120363000000000000@g.us'), (err: { data?: unknown }) => err.data === 404);
  await assert.rejects(client.socket!.groupMetadata(other.id), (err: { data?: unknown }) => err.data === 401);
  await client.stop();
});

test("texts Baileys sends to a group of 3 are decrypted by every member's phone, and receipts come per member", async () => {
  const client = await pairedClient('905552220001');
  sim.addUser('905552220002', 'Zeynep');
  sim.addUser('905552220003', 'Can');
  const group = sim.createGroup({ subject: 'Proje', owner: '905552220001', participants: ['905552220002', '905552220003'] });
  sim.receiptPolicy = 'read';
  // `id:member` of the delivery and read receipts seen. Baileys folds receipts that arrive
  // while an event batch is open into the upserted message's userReceipt.
  const receipts = new Set<string>();
  const note = (
    id: string | null | undefined,
    receipt: { userJid?: string | null; receiptTimestamp?: unknown; readTimestamp?: unknown },
  ) => {
    if (receipt.receiptTimestamp) receipts.add(`delivered ${id}:${receipt.userJid}`);
    if (receipt.readTimestamp) receipts.add(`read ${id}:${receipt.userJid}`);
    client.emit('receipt');
  };
  client.socket!.ev.on('message-receipt.update', (updates) => updates.forEach((u) => note(u.key.id, u.receipt)));
  client.on('messages', (upsert: { messages: WAMessage[] }) =>
    upsert.messages.forEach((m) => m.userReceipt?.forEach((r) => note(m.key.id, r))),
  );

  // The first send carries the sender key to each phone (pkmsg/msg); the second only the skmsg.
  for (const text of ['Toplantı 10:00', 'Unutmayın!']) {
    const arrived = collect(3, (m) => m.group === group.id && textOf(m.message) === text);
    const sent = await client.socket!.sendMessage(group.id, { text });
    const copies = await arrived;
    assert.deepEqual(copies.map((m) => m.to).sort(), ['905552220001', '905552220002', '905552220003']);
    for (const copy of copies) {
      assert.equal(copy.id, sent!.key.id);
      assert.equal(copy.from, '905552220001');
      assert.equal(copy.ownCopy, copy.to === '905552220001');
    }
    const expected = ['delivered', 'read'].flatMap((type) =>
      ['905552220002', '905552220003'].map((member) => `${type} ${sent!.key.id}:${member}@s.whatsapp.net`),
    );
    const done = () => expected.every((r) => receipts.has(r));
    if (!done()) await waitFor(client, 'receipt', 10_000, done);
  }
  sim.receiptPolicy = 'delivered';
  await client.stop();
});

test('texts a member sends to the group arrive at Baileys with the group as chat and the member as participant', async () => {
  const client = await pairedClient('905553330001');
  sim.addUser('905553330002', 'Elif');
  sim.addUser('905553330003', 'Murat');
  const group = sim.createGroup({ subject: 'Komşular', owner: '905553330002', participants: ['905553330001', '905553330003'] });
  const got: WAMessage[] = [];
  // Only the group's messages: the phone's own history and app-state messages to the new device may arrive meanwhile.
  client.on('messages', (upsert: { type: string; messages: WAMessage[] }) => {
    if (upsert.type === 'notify') got.push(...upsert.messages.filter((m) => m.key.remoteJid === group.id));
  });

  // Elif's first text brings her sender key; Murat then has his own; Elif's second uses hers again.
  const first = await sim.sendGroupText('905553330002', group.id, 'Su kesintisi var');
  const second = await sim.sendGroupText('905553330003', group.id, 'Ne zamana kadar?');
  const third = await sim.sendGroupText('905553330002', group.id, 'Akşama kadar');
  if (got.length < 3) await waitFor(client, 'messages', 10_000, () => got.length >= 3);
  // Baileys decrypts different senders' messages concurrently: the order across senders may vary.
  const ids = [first, second, third];
  assert.deepEqual(
    got
      .sort((a, b) => ids.indexOf(a.key.id!) - ids.indexOf(b.key.id!))
      .map((m) => [m.key.id, m.key.remoteJid, m.key.participant, m.key.fromMe, textOf(m.message)]),
    [
      [first, group.id, '905553330002@s.whatsapp.net', false, 'Su kesintisi var'],
      [second, group.id, '905553330003@s.whatsapp.net', false, 'Ne zamana kadar?'],
      [third, group.id, '905553330002@s.whatsapp.net', false, 'Akşama kadar'],
    ],
  );
  assert.equal(got[0]!.key.participantAlt, `${sim.user('905553330002').lid}@lid`);
  assert.equal(got[0]!.pushName, 'Elif');
  await client.stop();
});

test('a LID-addressed group: members by LID with their phone numbers, sends and receives both ways', async () => {
  const client = await pairedClient('905554440001');
  const selin = sim.addUser('905554440002', 'Selin');
  const group = sim.createGroup({
    subject: 'LID grubu',
    owner: '905554440001',
    participants: ['905554440002', '905554440003'],
    addressingMode: 'lid',
  });
  const metadata = await client.socket!.groupMetadata(group.id);
  assert.equal(metadata.addressingMode, 'lid');
  assert.deepEqual(
    metadata.participants.map((p) => [p.id, p.phoneNumber]),
    [
      [`${sim.user('905554440001').lid}@lid`, '905554440001@s.whatsapp.net'],
      [`${selin.lid}@lid`, '905554440002@s.whatsapp.net'],
      [`${sim.user('905554440003').lid}@lid`, '905554440003@s.whatsapp.net'],
    ],
  );

  const arrived = collect(3, (m) => m.group === group.id);
  await client.socket!.sendMessage(group.id, { text: 'Merhaba LID' });
  assert.deepEqual(
    (await arrived).map((m) => textOf(m.message)),
    ['Merhaba LID', 'Merhaba LID', 'Merhaba LID'],
  );

  const got: WAMessage[] = [];
  client.on('messages', (upsert: { type: string; messages: WAMessage[] }) => upsert.type === 'notify' && got.push(...upsert.messages));
  const id = await sim.sendGroupText('905554440002', group.id, 'Selam LID');
  await waitFor(client, 'messages', 10_000, () => got.some((m) => m.key.id === id));
  const message = got.find((m) => m.key.id === id)!;
  assert.equal(message.key.remoteJid, group.id);
  assert.equal(message.key.participant, `${selin.lid}@lid`);
  assert.equal(message.key.participantAlt, '905554440002@s.whatsapp.net');
  assert.equal(textOf(message.message), 'Selam LID');
  await client.stop();
});

test("a member's other linked device gets what its sibling sends to the group and what members' phones send", async () => {
  const laptop = await pairedClient('905555550001');
  const desktop = await pairedClient('905555550001');
  const group = sim.createGroup({ subject: 'İki cihaz', owner: '905555550001', participants: ['905555550002'] });
  const onDesktop: WAMessage[] = [];
  const onLaptop: WAMessage[] = [];
  desktop.on('messages', (upsert: { messages: WAMessage[] }) => onDesktop.push(...upsert.messages));
  laptop.on('messages', (upsert: { messages: WAMessage[] }) => onLaptop.push(...upsert.messages));

  const arrived = collect(1, (m) => m.group === group.id && m.to === '905555550002');
  const sent = await laptop.socket!.sendMessage(group.id, { text: 'Laptoptan' });
  assert.equal(textOf((await arrived)[0]!.message), 'Laptoptan');
  await waitFor(desktop, 'messages', 10_000, () => onDesktop.some((m) => m.key.id === sent!.key.id));
  const mirrored = onDesktop.find((m) => m.key.id === sent!.key.id)!;
  assert.equal(mirrored.key.remoteJid, group.id);
  assert.equal(mirrored.key.fromMe, true);
  assert.equal(textOf(mirrored.message), 'Laptoptan');

  const id = await sim.sendGroupText('905555550002', group.id, 'İkisine de');
  for (const [client, got] of [
    [laptop, onLaptop],
    [desktop, onDesktop],
  ] as const) {
    await waitFor(client, 'messages', 10_000, () => got.some((m) => m.key.id === id));
    const message = got.find((m) => m.key.id === id)!;
    assert.equal(message.key.participant, '905555550002@s.whatsapp.net');
    assert.equal(textOf(message.message), 'İkisine de');
  }
  await laptop.stop();
  await desktop.stop();
});
