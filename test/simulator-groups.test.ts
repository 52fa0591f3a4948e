/**
 * Groups in the simulator, end to end with the real Baileys: metadata
 * queries, sends to a group decrypted by every member's phone (sender keys),
 * and group texts from a member's phone arriving at Baileys.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { BinaryNode, WAMessage } from '@whiskeysockets/baileys';
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

/** Resolves with the first `group-participants.update` Baileys emits for which `filter` holds. */
function participantsUpdate(
  client: BareClient,
  filter: (u: { id: string; action: string; author?: string; participants: Array<{ id: string }> }) => boolean,
): Promise<{ id: string; action: string; author?: string; participants: Array<{ id: string }> }> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no matching group-participants.update')), 10_000);
    const listener = (update: { id: string; action: string; author?: string; participants: Array<{ id: string }> }) => {
      if (!filter(update)) return;
      clearTimeout(timer);
      client.socket!.ev.off('group-participants.update', listener as never);
      resolve(update);
    };
    client.socket!.ev.on('group-participants.update', listener as never);
  });
}

const pn = (phone: string) => `${phone}@s.whatsapp.net`;

test("Baileys' groupCreate and groupParticipantsUpdate get WhatsApp's result per participant; members' phones are told", async () => {
  const client = await pairedClient('905556660001');
  sim.addUser('905556660002', 'Ayşe');
  sim.addUser('905556660003', 'Kemal');
  const upserted = new Promise<Array<{ id: string; subject: string }>>((resolve) => client.socket!.ev.on('groups.upsert', resolve));

  // A number that is not on WhatsApp is named beside the members, with its error (Baileys lists it as a participant).
  const created = await client.socket!.groupCreate('Satış', [pn('905556660002'), pn('905556660003'), pn('905556669999')]);
  const group = sim.group(created.id);
  assert.equal(created.subject, 'Satış');
  assert.deepEqual(
    group.participants.map((u) => u.phone),
    ['905556660001', '905556660002', '905556660003'],
  );
  assert.equal(created.participants.find((p) => p.id === pn('905556660001'))?.admin, 'superadmin');
  assert.ok(
    created.participants.some((p) => p.id === pn('905556669999')),
    'Baileys drops the error attribute of a refused participant',
  );
  // The creating account's devices get the group too (w:gp2 <create>), as do the members' phones.
  assert.equal((await upserted)[0]!.id, created.id);
  assert.deepEqual(
    sim.groupAdmin.notices.filter((n) => n.group === created.id && n.change === 'create').map((n) => n.to),
    ['905556660001', '905556660002', '905556660003'],
  );

  // add: 200 added, 409 already a member, 404 not on WhatsApp.
  sim.addUser('905556660004', 'Nur');
  const told = participantsUpdate(client, (u) => u.id === created.id && u.action === 'add');
  const added = await client.socket!.groupParticipantsUpdate(
    created.id,
    [pn('905556660004'), pn('905556660002'), pn('905556668888')],
    'add',
  );
  assert.deepEqual(
    added.map((r) => [r.jid, r.status]),
    [
      [pn('905556660004'), '200'],
      [pn('905556660002'), '409'],
      [pn('905556668888'), '404'],
    ],
  );
  const addUpdate = await told;
  assert.deepEqual(
    addUpdate.participants.map((p) => p.id),
    [pn('905556660004')],
  );
  assert.equal(addUpdate.author, pn('905556660001'));

  // Privacy settings that let only contacts add them: 403, with the invite WhatsApp offers instead; a contact may.
  const selective = sim.addUser('905556660005', 'Seçici');
  selective.groupAddPrivacy = 'contacts';
  const refused = await client.socket!.groupParticipantsUpdate(created.id, [pn('905556660005')], 'add');
  assert.equal(refused[0]!.status, '403');
  const answer = refused[0]!.content as BinaryNode;
  const offered = Array.isArray(answer.content) ? answer.content.find((c) => c.tag === 'add_request') : undefined;
  assert.match(offered?.attrs.code ?? '', /^[A-Za-z0-9]{22}$/);
  assert.equal(group.participants.includes(selective), false);
  selective.addressBook.set('905556660001', 'Satış sorumlusu');
  assert.equal((await client.socket!.groupParticipantsUpdate(created.id, [pn('905556660005')], 'add'))[0]!.status, '200');

  // promote, demote, remove: 404 for someone not in the group.
  const promoted = await client.socket!.groupParticipantsUpdate(created.id, [pn('905556660002'), pn('905556667777')], 'promote');
  assert.deepEqual(
    promoted.map((r) => r.status),
    ['200', '404'],
  );
  assert.equal((await client.socket!.groupMetadata(created.id)).participants.find((p) => p.id === pn('905556660002'))?.admin, 'admin');
  assert.deepEqual(
    (await client.socket!.groupParticipantsUpdate(created.id, [pn('905556660002')], 'demote')).map((r) => r.status),
    ['200'],
  );
  const removedTold = participantsUpdate(client, (u) => u.id === created.id && u.action === 'remove');
  assert.deepEqual(
    (await client.socket!.groupParticipantsUpdate(created.id, [pn('905556660003')], 'remove')).map((r) => r.status),
    ['200'],
  );
  assert.deepEqual(
    (await removedTold).participants.map((p) => p.id),
    [pn('905556660003')],
  );
  assert.equal(group.participants.includes(sim.user('905556660003')), false);
  // The removed member's phone was told too.
  assert.ok(sim.groupAdmin.notices.some((n) => n.group === created.id && n.change === 'remove' && n.to === '905556660003'));
  await client.stop();
});

test('subject, description, invite links, joining by invite and leaving, with Baileys; a non-admin is refused', async () => {
  const client = await pairedClient('905557770001');
  sim.addUser('905557770002', 'Deniz');
  const created = await client.socket!.groupCreate('Eski ad', [pn('905557770002')]);
  const group = sim.group(created.id);

  const subjectTold = new Promise<void>((resolve) =>
    client.socket!.ev.on('groups.update', (u) => u.some((g) => g.id === created.id && g.subject === 'Yeni ad') && resolve()),
  );
  await client.socket!.groupUpdateSubject(created.id, 'Yeni ad');
  await client.socket!.groupUpdateDescription(created.id, 'Açıklama');
  assert.equal(group.subject, 'Yeni ad');
  assert.equal(group.description, 'Açıklama');
  const metadata = await client.socket!.groupMetadata(created.id);
  assert.equal(metadata.subject, 'Yeni ad');
  assert.equal(metadata.desc, 'Açıklama');
  // A second description change carries the id of the first (`prev`), which the server checks.
  await client.socket!.groupUpdateDescription(created.id, 'İkinci');
  assert.equal(group.description, 'İkinci');
  // The account's own device is told of the change, as the members' phones are.
  await subjectTold;
  assert.ok(sim.groupAdmin.notices.some((n) => n.to === '905557770002' && n.change === 'description' && n.description === 'İkinci'));

  // Invite links: the code, then a new one; the old code no longer lets anyone in.
  const code = await client.socket!.groupInviteCode(created.id);
  assert.match(code!, /^[A-Za-z0-9]{22}$/);
  assert.equal(await client.socket!.groupInviteCode(created.id), code);
  const fresh = await client.socket!.groupRevokeInvite(created.id);
  assert.notEqual(fresh, code);
  const joiner = sim.addUser('905557770003', 'Ece');
  await assert.rejects(sim.groupAdmin.join(joiner, code!), /406 not-acceptable/);
  await sim.groupAdmin.join(joiner, fresh!);
  assert.ok(group.participants.includes(joiner));

  // A phone's group, joined by the account through its invite code.
  const theirs = sim.createGroup({ subject: 'Davet', owner: '905557770002', participants: ['905557770003'] });
  const theirCode = sim.groupAdmin.inviteCode(theirs, sim.user('905557770002'));
  const joinedTold = participantsUpdate(client, (u) => u.id === theirs.id && u.action === 'add');
  assert.equal(await client.socket!.groupAcceptInvite(theirCode), theirs.id);
  assert.equal((await joinedTold).author, pn('905557770001'));
  await assert.rejects(client.socket!.groupAcceptInvite('AAAAAAAAAAAAAAAAAAAAAA'), (err: { data?: unknown }) => err.data === 404);

  // Not an admin there: adding, promoting and the invite code are refused (403); the subject may be changed.
  await assert.rejects(
    client.socket!.groupParticipantsUpdate(theirs.id, [pn('905557770004')], 'add'),
    (err: { data?: unknown }) => err.data === 403,
  );
  await assert.rejects(client.socket!.groupInviteCode(theirs.id), (err: { data?: unknown }) => err.data === 403);
  // Unknown groups: 404.
  await assert.rejects(client.socket!.groupUpdateSubject('120363000000000001@g.us', 'x'), (err: { data?: unknown }) => err.data === 404);

  // Leaving: the others and the account's own devices are told; the group is then closed to it (401).
  const leftTold = participantsUpdate(client, (u) => u.id === theirs.id && u.action === 'remove');
  await client.socket!.groupLeave(theirs.id);
  assert.equal((await leftTold).participants[0]!.id, pn('905557770001'));
  assert.equal(theirs.participants.includes(sim.user('905557770001')), false);
  await assert.rejects(client.socket!.groupMetadata(theirs.id), (err: { data?: unknown }) => err.data === 401);
  assert.ok(sim.groupAdmin.notices.some((n) => n.group === theirs.id && n.to === '905557770002' && n.change === 'remove'));
  await client.stop();
});

test("a member's phone changing the group reaches Baileys with the phone as author", async () => {
  const client = await pairedClient('905558880001');
  const group = sim.createGroup({ subject: 'Telefondan', owner: '905558880002', participants: ['905558880001'] });
  sim.addUser('905558880003', 'Oya');
  const told = participantsUpdate(client, (u) => u.id === group.id && u.action === 'add');
  const outcomes = await sim.groupAdmin.changeMembers(group, sim.user('905558880002'), 'add', [pn('905558880003')]);
  assert.deepEqual(
    outcomes.map((o) => o.status),
    [200],
  );
  const update = await told;
  assert.equal(update.author, pn('905558880002'));
  assert.deepEqual(
    update.participants.map((p) => p.id),
    [pn('905558880003')],
  );
  // A non-admin's phone is refused as WhatsApp refuses it.
  await assert.rejects(sim.groupAdmin.changeMembers(group, sim.user('905558880003'), 'remove', [pn('905558880001')]), /403 forbidden/);
  await client.stop();
});
