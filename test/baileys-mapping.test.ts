// Table tests of the pure functions that translate between Baileys and the gateway's own shapes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { toChange, toIncoming, toStatusUpdates, statusName } from '../whatsapp/baileys/inbound.js';
import { captionEdit, toBaileysContent, vcard } from '../whatsapp/baileys/outbound.js';
import { receiptUpdates } from '../whatsapp/baileys/receipts.js';
import { toChatInfo, toContactInfo, toGroupInfo } from '../whatsapp/baileys/directory.js';
import { toIncomingCall } from '../whatsapp/baileys/calls.js';
import {
  createdGroup,
  createdGroupId,
  refusalsTyped,
  toGroupUpdate,
  toParticipantResults,
  toParticipantsChange,
} from '../whatsapp/baileys/groups.js';
import { WhatsAppRefusal } from '../whatsapp/session.js';
import type { BinaryNode } from '@whiskeysockets/baileys';

const OWN = '905550000001:12@s.whatsapp.net';
const ALI = '905550000002@s.whatsapp.net';
const ALI_LID = '111122223333@lid';
const GROUP = '120363000000000001@g.us';

// Messages as Baileys emits them (plain objects; the mappers read them, never Baileys' classes).
const message = (key: Record<string, unknown>, content: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  ({ key: { id: 'MSG1', ...key }, message: content, messageTimestamp: 1_790_000_000, ...extra }) as never;

test('incoming messages map to the gateway type, body, sender and chat', () => {
  const cases: Array<[string, unknown, Record<string, unknown> | undefined]> = [
    [
      'a 1:1 text',
      message({ remoteJid: ALI, fromMe: false }, { conversation: 'Merhaba' }, { pushName: 'Ali' }),
      { chatId: ALI, from: ALI, to: '905550000001@s.whatsapp.net', type: 'chat', body: 'Merhaba', fromMe: false, pushName: 'Ali' },
    ],
    [
      'an extended text',
      message({ remoteJid: ALI }, { extendedTextMessage: { text: 'https://example.com bak' } }),
      { type: 'chat', body: 'https://example.com bak' },
    ],
    [
      'a LID sender with its phone number given',
      message({ remoteJid: ALI_LID, remoteJidAlt: ALI }, { conversation: 'lid' }),
      { chatId: ALI, from: ALI },
    ],
    [
      'a group message names the participant as sender, by phone number',
      message({ remoteJid: GROUP, participant: ALI_LID, participantAlt: ALI }, { conversation: 'grup' }),
      { chatId: GROUP, from: ALI, to: '905550000001@s.whatsapp.net' },
    ],
    [
      'our own message from another device',
      message({ remoteJid: ALI, fromMe: true }, { conversation: 'telefondan' }),
      { fromMe: true, from: '905550000001@s.whatsapp.net', to: ALI },
    ],
    [
      'an image with a caption',
      message({ remoteJid: ALI }, { imageMessage: { mimetype: 'image/jpeg', caption: 'foto', fileLength: 1234 } }),
      { type: 'image', body: 'foto', caption: 'foto', media: { mimetype: 'image/jpeg', size: 1234 } },
    ],
    [
      'a voice note (push-to-talk audio)',
      message({ remoteJid: ALI }, { audioMessage: { mimetype: 'audio/ogg; codecs=opus', ptt: true } }),
      { type: 'voice', media: { mimetype: 'audio/ogg; codecs=opus' } },
    ],
    ['plain audio', message({ remoteJid: ALI }, { audioMessage: { mimetype: 'audio/mpeg' } }), { type: 'audio' }],
    [
      'a document with caption wrapper',
      message(
        { remoteJid: ALI },
        {
          documentWithCaptionMessage: {
            message: { documentMessage: { mimetype: 'application/pdf', fileName: 'a.pdf', caption: 'fatura' } },
          },
        },
      ),
      { type: 'document', body: 'fatura', media: { mimetype: 'application/pdf', fileName: 'a.pdf' } },
    ],
    [
      'an ephemeral text is unwrapped',
      message({ remoteJid: ALI }, { ephemeralMessage: { message: { conversation: 'kaybolan' } } }),
      { type: 'chat', body: 'kaybolan' },
    ],
    [
      'a location',
      message({ remoteJid: ALI }, { locationMessage: { degreesLatitude: 41, degreesLongitude: 29, name: 'Ofis' } }),
      { type: 'location', body: 'Ofis' },
    ],
    [
      'a contact card',
      message({ remoteJid: ALI }, { contactMessage: { displayName: 'Veli', vcard: 'BEGIN:VCARD' } }),
      { type: 'contact', body: 'Veli' },
    ],
    [
      'a poll',
      message({ remoteJid: ALI }, { pollCreationMessageV3: { name: 'Hangisi?', options: [] } }),
      { type: 'poll', body: 'Hangisi?' },
    ],
    ['a reaction', message({ remoteJid: ALI }, { reactionMessage: { text: '👍', key: { id: 'X' } } }), { type: 'reaction', body: '👍' }],
    ['a protocol message is not a user message', message({ remoteJid: ALI }, { protocolMessage: { type: 0 } }), undefined],
    ['an empty stub is not a user message', message({ remoteJid: ALI }, {}), undefined],
  ];
  for (const [name, input, expected] of cases) {
    const mapped = toIncoming(input as never, OWN);
    if (expected === undefined) {
      assert.equal(mapped, undefined, name);
      continue;
    }
    assert.ok(mapped, name);
    for (const [field, value] of Object.entries(expected)) assert.deepEqual((mapped as never)[field], value, `${name}: ${field}`);
    assert.equal(mapped.id, 'MSG1', name);
    assert.equal(mapped.timestamp, 1_790_000_000, name);
  }
});

test('edits and deletes for everyone map to changes of the message they name, with their author; other protocol messages to none', () => {
  const edit = (key: Record<string, unknown>, protocol: Record<string, unknown>, wrapped = true) =>
    message(key, wrapped ? { editedMessage: { message: { protocolMessage: protocol } } } : { protocolMessage: protocol }, {
      messageTimestamp: 1_790_000_100,
    });
  const cases: Array<[string, unknown, unknown]> = [
    [
      "a contact's edit (wrapped as apps send it now), its time from the edit",
      edit(
        { remoteJid: ALI, fromMe: false },
        { key: { id: 'M0' }, type: 14, editedMessage: { conversation: 'yeni' }, timestampMs: 1_790_000_200_500 },
      ),
      { id: 'M0', chatId: ALI, by: ALI, fromMe: false, at: 1_790_000_200, kind: 'edit', body: 'yeni' },
    ],
    [
      "a caption's edit, by LID with the number beside it",
      edit(
        { remoteJid: ALI_LID, remoteJidAlt: ALI, fromMe: false },
        { key: { id: 'M0' }, type: 14, editedMessage: { imageMessage: { caption: 'c' } } },
        false,
      ),
      { id: 'M0', chatId: ALI, by: ALI, byLid: ALI_LID, fromMe: false, at: 1_790_000_100, kind: 'edit', body: 'c' },
    ],
    [
      "an admin's delete in a group",
      edit(
        { remoteJid: GROUP, participant: ALI, fromMe: false },
        { key: { id: 'M0', participant: '905550000003@s.whatsapp.net' }, type: 0 },
        false,
      ),
      { id: 'M0', chatId: GROUP, by: ALI, fromMe: false, at: 1_790_000_100, kind: 'revoke' },
    ],
    [
      "the account's own delete, on its phone",
      edit({ remoteJid: ALI, fromMe: true }, { key: { id: 'M0' }, type: 0 }, false),
      { id: 'M0', chatId: ALI, by: '905550000001@s.whatsapp.net', fromMe: true, at: 1_790_000_100, kind: 'revoke' },
    ],
    ['an edit with no text', edit({ remoteJid: ALI }, { key: { id: 'M0' }, type: 14, editedMessage: { stickerMessage: {} } }), undefined],
    ['another protocol message', edit({ remoteJid: ALI }, { key: { id: 'M0' }, type: 3 }, false), undefined],
    ['a plain text', message({ remoteJid: ALI }, { conversation: 'x' }), undefined],
  ];
  for (const [name, input, expected] of cases) assert.deepEqual(toChange(input as never, OWN), expected, name);
  // A protocol message is no incoming message.
  assert.equal(toIncoming(cases[0]![1] as never, OWN), undefined);
});

test('receipts map to statuses; unknown numbers and keys without ids are dropped', () => {
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 9, null, undefined].map((n) => statusName(n as never)),
    ['failed', 'pending', 'sent', 'delivered', 'read', 'played', undefined, undefined, undefined],
  );
  assert.deepEqual(
    toStatusUpdates([
      { key: { id: 'A', remoteJid: ALI, fromMe: true }, update: { status: 3 } },
      { key: { id: 'B', remoteJid: ALI_LID, remoteJidAlt: ALI, fromMe: true }, update: { status: 4 } },
      { key: { id: 'C', remoteJid: ALI, fromMe: true }, update: { starred: true } },
      { key: { remoteJid: ALI, fromMe: true }, update: { status: 3 } },
    ] as never),
    [
      { id: 'A', chatId: ALI, status: 'delivered', fromMe: true },
      { id: 'B', chatId: ALI, status: 'read', fromMe: true },
    ],
  );
});

test('receipt stanzas map to the updates Baileys emits for them; group, retry and unknown ones to none', () => {
  const me = { id: '905550000001:3@s.whatsapp.net', lid: '11111@lid' };
  const bob = '905550000002@s.whatsapp.net';
  const receipt = (attrs: Record<string, string>, items: string[] = []) => ({
    tag: 'receipt',
    attrs: { t: '1700000000', ...attrs },
    ...(items.length ? { content: [{ tag: 'list', attrs: {}, content: items.map((id) => ({ tag: 'item', attrs: { id } })) }] } : {}),
  });
  const cases: Array<[string, ReturnType<typeof receipt>, Array<[string, boolean, number]>]> = [
    ['delivered (no type)', receipt({ from: bob, id: 'A1' }), [['A1', true, 3]]],
    [
      'read, with a list',
      receipt({ from: bob, id: 'A1', type: 'read' }, ['A2', 'A3']),
      [
        ['A1', true, 4],
        ['A2', true, 4],
        ['A3', true, 4],
      ],
    ],
    ['played', receipt({ from: bob, id: 'A4', type: 'played' }), [['A4', true, 5]]],
    // Another device of the account read Bob's message: the chat is the recipient's, not from me.
    [
      'read on the phone',
      receipt({ from: '905550000001@s.whatsapp.net', recipient: bob, id: 'B1', type: 'read-self' }),
      [['B1', false, 4]],
    ],
    ['retry request', receipt({ from: bob, id: 'A1', type: 'retry' }), []],
    ['inactive', receipt({ from: bob, id: 'A1', type: 'inactive' }), []],
    ['a group member', receipt({ from: '120363000000000001@g.us', participant: bob, id: 'G1' }), []],
    ['status broadcast', receipt({ from: 'status@broadcast', participant: bob, id: 'S1' }), []],
  ];
  for (const [name, node, expected] of cases) {
    const updates = receiptUpdates(node as never, me);
    assert.deepEqual(
      updates.map((u) => [u.key.id, u.key.fromMe, u.update.status]),
      expected,
      name,
    );
    for (const u of updates) assert.equal(u.key.remoteJid, bob, name);
  }
});

test('chats, contacts and groups map to the stored shapes, by phone number where WhatsApp gives it', () => {
  assert.deepEqual(toChatInfo({ id: ALI, name: 'Ali', unreadCount: 2, archived: true, conversationTimestamp: 1_790_000_000 } as never), {
    id: ALI,
    name: 'Ali',
    unreadCount: 2,
    archived: true,
    lastMessage: 1_790_000_000,
  });
  // A partial update carries only what changed.
  assert.deepEqual(toChatInfo({ id: ALI, unreadCount: -1 } as never), { id: ALI, unreadCount: 0 });
  assert.deepEqual(toChatInfo({ id: ALI_LID, pnJid: ALI } as never), { id: ALI });

  assert.deepEqual(toContactInfo({ id: ALI, name: 'Ali Bey', notify: 'Ali', lid: ALI_LID } as never), {
    id: ALI,
    lid: ALI_LID,
    name: 'Ali Bey',
    notify: 'Ali',
  });
  assert.deepEqual(toContactInfo({ id: ALI_LID, phoneNumber: ALI, notify: 'Ali' } as never), { id: ALI, lid: ALI_LID, notify: 'Ali' });

  assert.deepEqual(
    toGroupInfo({
      id: GROUP,
      subject: 'Ekip',
      desc: 'iş',
      owner: ALI_LID,
      ownerPn: ALI,
      creation: 1_700_000_000,
      participants: [
        { id: ALI_LID, phoneNumber: ALI, admin: 'superadmin' },
        { id: '905550000003@s.whatsapp.net', lid: '333344445555@lid', admin: null },
        { id: '905550000004@s.whatsapp.net', admin: 'admin' },
      ],
      announce: true,
    } as never),
    {
      id: GROUP,
      name: 'Ekip',
      description: 'iş',
      owner: ALI,
      creation: 1_700_000_000,
      participants: [
        { id: ALI, lid: ALI_LID, admin: 'superadmin' },
        { id: '905550000003@s.whatsapp.net', lid: '333344445555@lid', admin: null },
        { id: '905550000004@s.whatsapp.net', admin: 'admin' },
      ],
      announce: true,
      restrict: false,
    },
  );
});

test('outgoing content maps to the Baileys message of each send type', () => {
  const media = { bytes: Buffer.from('x'), mimetype: 'image/png' };
  const cases: Array<[string, unknown, unknown]> = [
    ['text', { type: 'text', body: 'selam' }, { text: 'selam' }],
    ['image', { type: 'image', media, caption: 'c' }, { image: media.bytes, mimetype: 'image/png', caption: 'c' }],
    [
      'document',
      { type: 'document', media, filename: 'f.pdf' },
      { document: media.bytes, mimetype: 'image/png', fileName: 'f.pdf', caption: undefined },
    ],
    ['audio is a music player', { type: 'audio', media }, { audio: media.bytes, mimetype: 'image/png', ptt: false }],
    ['voice is push-to-talk', { type: 'voice', media }, { audio: media.bytes, mimetype: 'image/png', ptt: true }],
    ['sticker', { type: 'sticker', media }, { sticker: media.bytes, mimetype: 'image/png' }],
    [
      'location',
      { type: 'location', lat: 41.1, lng: 29.2, name: 'Ofis' },
      { location: { degreesLatitude: 41.1, degreesLongitude: 29.2, name: 'Ofis', address: undefined } },
    ],
    [
      'poll',
      { type: 'poll', name: 'Q', values: ['a', 'b'], selectableCount: 1 },
      { poll: { name: 'Q', values: ['a', 'b'], selectableCount: 1 } },
    ],
    [
      'reaction',
      { type: 'reaction', messageId: 'M', emoji: '❤️', fromMe: false },
      { react: { text: '❤️', key: { remoteJid: ALI, id: 'M', fromMe: false } } },
    ],
    ['delete', { type: 'delete', messageId: 'M', fromMe: true }, { delete: { remoteJid: ALI, id: 'M', fromMe: true } }],
    ['edit of a text', { type: 'edit', messageId: 'M', body: 'yeni' }, { text: 'yeni', edit: { remoteJid: ALI, id: 'M', fromMe: true } }],
  ];
  for (const [name, content, expected] of cases)
    assert.deepEqual(toBaileysContent({ id: 'ID', to: ALI, content } as never), expected, name);

  // A caption's edit keeps the media message's kind; anything else is no caption edit.
  const caption = captionEdit(
    { id: 'ID', to: ALI, content: { type: 'edit', messageId: 'M', body: 'c2', caption: 'video' } },
    1_790_000_000_000,
  );
  assert.deepEqual(caption, {
    protocolMessage: {
      key: { remoteJid: ALI, id: 'M', fromMe: true },
      type: 14,
      editedMessage: { videoMessage: { caption: 'c2' } },
      timestampMs: 1_790_000_000_000,
    },
  });
  assert.equal(captionEdit({ id: 'ID', to: ALI, content: { type: 'edit', messageId: 'M', body: 'c2' } }), undefined);

  const card = toBaileysContent({
    id: 'ID',
    to: ALI,
    content: { type: 'contact', name: 'Veli; Bey', phone: '+90 555 000 0009' },
  }) as never as {
    contacts: { displayName: string; contacts: Array<{ vcard: string }> };
  };
  assert.equal(card.contacts.displayName, 'Veli; Bey');
  assert.equal(card.contacts.contacts[0]!.vcard, vcard('Veli; Bey', '+90 555 000 0009'));
  assert.equal(
    vcard('Veli; Bey', '+90 555 000 0009'),
    'BEGIN:VCARD\nVERSION:3.0\nFN:Veli\\; Bey\nTEL;type=CELL;type=VOICE;waid=905550000009:+905550000009\nEND:VCARD',
  );
});

test('call events map to IncomingCall: the caller by phone number where WhatsApp gives one, the steps the gateway does not follow dropped', () => {
  const event = (extra: Record<string, unknown>) =>
    ({
      chatId: ALI_LID,
      from: ALI_LID,
      id: 'CALL1',
      date: new Date(1_790_000_000_000),
      offline: false,
      status: 'offer',
      ...extra,
    }) as never;
  const cases: Array<[string, unknown, Record<string, unknown> | undefined]> = [
    [
      'a voice offer with caller_pn',
      event({ callerPn: ALI, isVideo: false }),
      { id: 'CALL1', from: ALI, creator: ALI_LID, status: 'offer', video: false, group: false, timestamp: 1_790_000_000, offline: false },
    ],
    [
      'a video offer by phone number only',
      event({ from: `${ALI.split('@')[0]}:3@s.whatsapp.net`, isVideo: true }),
      { from: ALI, video: true },
    ],
    ['a LID caller without its number stays a LID', event({}), { from: ALI_LID, creator: ALI_LID }],
    ['a group call', event({ isGroup: true, groupJid: GROUP }), { group: true }],
    ['an offer seen offline', event({ offline: true }), { offline: true }],
    ['declined', event({ status: 'reject' }), { status: 'reject' }],
    ['answered elsewhere', event({ status: 'accept' }), { status: 'accept' }],
    ['hung up', event({ status: 'terminate' }), { status: 'terminate' }],
    ['rang out', event({ status: 'timeout' }), { status: 'timeout' }],
    ['ringing', event({ status: 'ringing' }), undefined],
    ['transport', event({ status: 'transport' }), undefined],
    ['relay latency', event({ status: 'relaylatency', latencyMs: 40 }), undefined],
    ['no call id', event({ id: '' }), undefined],
  ];
  for (const [name, input, expected] of cases) {
    const mapped = toIncomingCall(input as never);
    if (expected === undefined) assert.equal(mapped, undefined, name);
    else
      for (const [key, value] of Object.entries(expected)) assert.deepEqual(mapped?.[key as keyof typeof mapped], value, `${name}: ${key}`);
  }
});

test("group administration: WhatsApp's per-participant codes, participant changes by phone number, refusals typed", async () => {
  const NOBODY = '905559999999@s.whatsapp.net';
  const metadata = {
    id: GROUP,
    subject: 'Ekip',
    owner: '905550000001@s.whatsapp.net',
    creation: 1_790_000_000,
    participants: [
      { id: '905550000001@s.whatsapp.net', admin: 'superadmin' },
      { id: ALI, admin: null },
      // Baileys keeps a refused participant as a member (it drops the `error` attribute).
      { id: NOBODY, admin: null },
    ],
  } as never;
  const answer: BinaryNode = {
    tag: 'iq',
    attrs: { type: 'result' },
    content: [
      {
        tag: 'group',
        attrs: { id: '120363000000000001' },
        content: [
          { tag: 'participant', attrs: { jid: '905550000001@s.whatsapp.net', type: 'superadmin' } },
          { tag: 'participant', attrs: { jid: ALI } },
          { tag: 'participant', attrs: { jid: NOBODY, error: '404' } },
        ],
      },
    ],
  };
  assert.equal(createdGroupId(answer), GROUP);
  const created = createdGroup(metadata, [ALI, NOBODY], answer);
  assert.deepEqual(created.participants, [
    { id: ALI, status: 200 },
    { id: NOBODY, status: 404 },
  ]);
  assert.deepEqual(
    created.group.participants.map((p) => p.id),
    ['905550000001@s.whatsapp.net', ALI],
  );
  // Without the answer at hand: members as listed, anyone else unexplained (500).
  assert.deepEqual(createdGroup(metadata, [ALI, '905558888888@s.whatsapp.net'], undefined).participants, [
    { id: ALI, status: 200 },
    { id: '905558888888@s.whatsapp.net', status: 500 },
  ]);

  assert.deepEqual(
    toParticipantResults(
      [
        { status: '200', jid: ALI },
        { status: '409', jid: '905550000003@s.whatsapp.net' },
      ],
      [ALI, '905550000003@s.whatsapp.net'],
    ),
    [
      { id: ALI, status: 200 },
      { id: '905550000003@s.whatsapp.net', status: 409 },
    ],
  );

  const cases: Array<[string, unknown, unknown]> = [
    [
      'a LID-addressed add names members and author by phone number, their LIDs beside',
      {
        id: GROUP,
        action: 'add',
        author: ALI_LID,
        authorPn: ALI,
        participants: [{ id: '222233334444@lid', phoneNumber: '905550000004@s.whatsapp.net' }],
      },
      {
        groupId: GROUP,
        action: 'add',
        participants: ['905550000004@s.whatsapp.net'],
        participantLids: ['222233334444@lid'],
        author: ALI,
        authorLid: ALI_LID,
      },
    ],
    [
      'a promote in a PN group',
      {
        id: GROUP,
        action: 'promote',
        author: ALI,
        participants: [{ id: '905550000004@s.whatsapp.net', lid: '222233334444@lid' }, { id: '905550000005@s.whatsapp.net' }],
      },
      {
        groupId: GROUP,
        action: 'promote',
        participants: ['905550000004@s.whatsapp.net', '905550000005@s.whatsapp.net'],
        participantLids: ['222233334444@lid', null],
        author: ALI,
      },
    ],
    [
      'no author given',
      { id: GROUP, action: 'remove', author: '', participants: [{ id: ALI }] },
      { groupId: GROUP, action: 'remove', participants: [ALI], author: null },
    ],
    ['a number change is no membership change', { id: GROUP, action: 'modify', author: ALI, participants: [{ id: ALI }] }, undefined],
  ];
  for (const [name, update, expected] of cases) assert.deepEqual(toParticipantsChange(update as never), expected, name);

  await assert.rejects(
    refusalsTyped(() => Promise.reject(Object.assign(new Error('forbidden'), { data: 403 }))),
    (err) => err instanceof WhatsAppRefusal && err.status === 403 && err.message === 'forbidden',
  );
  // Other failures (a timeout, a closed socket) stay as they are.
  await assert.rejects(
    refusalsTyped(() => Promise.reject(Object.assign(new Error('Timed Out'), { data: { stack: '' } }))),
    (err) => !(err instanceof WhatsAppRefusal),
  );
});

test('group updates: what a member changed (subject, description, who may send or edit) with its author; metadata refreshes and other changes dropped', () => {
  const LID_AUTHOR = '123456789012345@lid';
  const cases: Array<[string, unknown, unknown]> = [
    ['a subject', { id: GROUP, subject: 'Ekip', author: ALI }, { groupId: GROUP, subject: 'Ekip', author: ALI }],
    ['a description', { id: GROUP, desc: 'Plan', author: ALI }, { groupId: GROUP, description: 'Plan', author: ALI }],
    ['a description removed', { id: GROUP, desc: undefined, author: ALI }, { groupId: GROUP, description: null, author: ALI }],
    ['only admins send', { id: GROUP, announce: true, author: ALI }, { groupId: GROUP, announce: true, author: ALI }],
    ['anyone edits', { id: GROUP, restrict: false }, { groupId: GROUP, restrict: false, author: null }],
    [
      'an author by LID with its number',
      { id: GROUP, subject: 'X', author: LID_AUTHOR, authorPn: ALI },
      { groupId: GROUP, subject: 'X', author: ALI, authorLid: LID_AUTHOR },
    ],
    ['a whole metadata refresh', { id: GROUP, subject: 'Ekip', participants: [] }, undefined],
    ['an invite link change', { id: GROUP, inviteCode: 'abc', author: ALI }, undefined],
    ['no id', { subject: 'Ekip' }, undefined],
  ];
  for (const [name, input, expected] of cases) assert.deepEqual(toGroupUpdate(input as never), expected, name);
});
