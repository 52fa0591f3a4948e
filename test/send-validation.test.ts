// What the twelve send endpoints accept and refuse, through HTTP, before anything is sent.
// The instance stays disconnected: an accepted send is recorded and answered 202 pending.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startGateway, type Gateway } from './support/gateway.js';

let gw: Gateway;
const dataDir = mkdtempSync(join(tmpdir(), 'send-validation-'));
const MAX_MEDIA_BYTES = 64 * 1024;
before(async () => {
  gw = await startGateway({ name: 'send_validation', workers: 0, env: { DATA_DIR: dataDir, MAX_MEDIA_BYTES: String(MAX_MEDIA_BYTES) } });
  // Reactions and deletes name a message of the chat: one of ours, stored (pending) like any send.
  const res = await gw.request('/api/instance/default/messages/chat', { method: 'POST', json: { to: TO, body: 'the target' } });
  const target = ((await res.json()) as { id: string }).id;
  endpoints.reaction!.body.msgId = target;
  endpoints.delete!.body.msgId = target;
});
after(async () => {
  await gw?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const TO = '905551234567';
const PNG_DATA_URI = `data:image/png;base64,${PNG.sync.write(new PNG({ width: 1, height: 1 })).toString('base64')}`;

/** A minimal valid body for each endpoint, and the fields it cannot do without. */
const endpoints: Record<string, { body: Record<string, unknown>; required: string[] }> = {
  chat: { body: { to: TO, body: 'Merhaba' }, required: ['to', 'body'] },
  image: { body: { to: TO, image: 'https://cdn.example.com/cat.png', caption: 'kedi' }, required: ['to', 'image'] },
  video: { body: { to: TO, video: 'https://cdn.example.com/clip.mp4' }, required: ['to', 'video'] },
  document: { body: { to: TO, document: 'https://cdn.example.com/invoice.pdf', filename: 'fatura.pdf' }, required: ['to', 'document'] },
  audio: { body: { to: TO, audio: 'https://cdn.example.com/song.mp3' }, required: ['to', 'audio'] },
  voice: { body: { to: TO, audio: 'https://cdn.example.com/note.ogg' }, required: ['to', 'audio'] },
  sticker: { body: { to: TO, sticker: 'https://cdn.example.com/s.webp' }, required: ['to', 'sticker'] },
  location: { body: { to: TO, lat: 41.0082, lng: 28.9784, name: 'İstanbul' }, required: ['to', 'lat', 'lng'] },
  contact: { body: { to: TO, contact_name: 'Ahmet', contact_phone: '+905550000000' }, required: ['to'] },
  poll: { body: { to: TO, name: 'Toplantı?', values: ['Pzt', 'Çar'] }, required: ['to', 'name', 'values'] },
  reaction: { body: { to: TO, msgId: '3EB0AAAAAAAAAAAAAAAAAA', emoji: '👍' }, required: ['to', 'msgId', 'emoji'] },
  delete: { body: { to: TO, msgId: '3EB0AAAAAAAAAAAAAAAAAA' }, required: ['to', 'msgId'] },
};
const MEDIA_FIELDS: Record<string, string> = {
  image: 'image',
  video: 'video',
  document: 'document',
  audio: 'audio',
  voice: 'audio',
  sticker: 'sticker',
};

async function send(type: string, body: unknown, instance = 'default') {
  const res = await gw.request(`/api/instance/${instance}/messages/${type}`, { method: 'POST', json: body });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}
const storedCount = async () =>
  Number((await gw.db('messages').where({ instance_id: 'default' }).count<{ count: string }[]>('* as count'))[0]!.count);

/** Sends that must be refused with 400 naming `field`; none of them may be stored. */
async function assertRejected(type: string, body: unknown, field: RegExp | string, what = JSON.stringify(body)) {
  const { status, body: answer } = await send(type, body);
  assert.equal(status, 400, `${type} ${what}: ${JSON.stringify(answer)}`);
  assert.equal(answer.code, 'BAD_REQUEST', `${type} ${what}`);
  const names = typeof field === 'string' ? new RegExp(`^${field}\\b`) : field;
  assert.match(answer.error, names, `${type} ${what}: the error names the field`);
  return answer.error as string;
}

async function assertPending(type: string, body: unknown) {
  const { status, body: answer } = await send(type, body);
  assert.equal(status, 202, `${type} ${JSON.stringify(body).slice(0, 200)}: ${JSON.stringify(answer)}`);
  assert.equal(answer.status, 'pending');
  assert.match(answer.id, /^3EB0[0-9A-F]{18}$/);
  if (type === 'delete') assert.equal(answer.deleted, false);
  else assert.equal(answer.sent, false);
  return answer.id as string;
}

test('every endpoint accepts its minimal valid body while disconnected: 202 pending, recorded with the normalised chat', async () => {
  for (const [type, { body }] of Object.entries(endpoints)) {
    const id = await assertPending(type, body);
    const row = await gw.db('messages').where({ instance_id: 'default', id }).first();
    assert.equal(row.status, 'pending', type);
    assert.equal(row.from_me, true, type);
    assert.equal(row.chat_id, `${TO}@s.whatsapp.net`, type);
  }
});

test('a missing required field is a 400 whose error names that field, on every endpoint', async () => {
  const before = await storedCount();
  for (const [type, { body, required }] of Object.entries(endpoints)) {
    for (const field of required) {
      const { [field]: _omitted, ...rest } = body;
      const error = await assertRejected(type, rest, field, `without ${field}`);
      assert.match(error, /required/, `${type} without ${field}: ${error}`);
    }
    const error = await assertRejected(type, {}, 'to', 'an empty body');
    assert.match(error, /^to is required$/);
  }
  assert.equal(await storedCount(), before, 'nothing refused was recorded');
});

test('a field of the wrong type is a 400 naming the field, not "required"', async () => {
  const before = await storedCount();
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ['chat', { body: 5 }, 'body'],
    ['chat', { to: 905551234567 }, 'to'],
    ['chat', { to: ['905551234567'] }, 'to'],
    ['image', { image: 5 }, 'image'],
    ['image', { caption: { text: 'x' } }, 'caption'],
    ['video', { video: {} }, 'video'],
    ['document', { document: [] }, 'document'],
    ['document', { filename: 7 }, 'filename'],
    ['audio', { audio: true }, 'audio'],
    ['voice', { audio: 1 }, 'audio'],
    ['sticker', { sticker: null }, 'sticker'],
    ['location', { lat: 'x' }, 'lat'],
    ['location', { lng: '28.97' }, 'lng'],
    ['location', { lat: 91 }, 'lat'],
    ['location', { lng: -181 }, 'lng'],
    ['contact', { contact_name: 5 }, 'contact_name'],
    ['contact', { contact_phone: 905550000000 }, 'contact_phone'],
    ['contact', { contact_phone: 'call me' }, 'contact_phone'],
    ['poll', { values: 'a' }, 'values'],
    ['poll', { values: [1, 2] }, 'values'],
    ['poll', { name: 5 }, 'name'],
    ['reaction', { msgId: 5 }, 'msgId'],
    ['reaction', { emoji: 5 }, 'emoji'],
    ['delete', { msgId: 42 }, 'msgId'],
  ];
  for (const [type, override, field] of cases) {
    const error = await assertRejected(type, { ...endpoints[type]!.body, ...override }, field);
    assert.doesNotMatch(error, /required/, `${type} ${JSON.stringify(override)}: ${error}`);
  }
  // Empty strings are not a value either.
  await assertRejected('chat', { to: TO, body: '' }, 'body');
  await assertRejected('image', { to: TO, image: '' }, 'image');
  await assertRejected('delete', { to: TO, msgId: '' }, 'msgId');
  // A body that is not a JSON object.
  const array = await send('chat', [TO, 'hi']);
  assert.equal(array.status, 400);
  assert.match(array.body.error, /body/);
  assert.equal(await storedCount(), before);
});

test('a recipient that is neither a phone number nor a JID is a 400, on every endpoint', async () => {
  const before = await storedCount();
  for (const to of [
    'abc',
    '12',
    '905@x.com',
    '',
    '+',
    '905551234567@x.com',
    '905551234567@broadcast',
    'abc@g.us',
    '90555123456789012345678@s.whatsapp.net',
  ]) {
    for (const [type, { body }] of Object.entries(endpoints)) {
      const error = await assertRejected(type, { ...body, to }, 'to', `to=${JSON.stringify(to)}`);
      assert.match(error, /phone number/);
    }
  }
  assert.equal(await storedCount(), before);
});

test('a number written the local way (0 and no country code) is a 400 asking for the country code, on a send and on a campaign line', async () => {
  for (const to of ['05550000002', '0555 000 00 03', '(0212) 555 00 00']) {
    const res = await gw.request('/api/instance/default/messages/chat', { method: 'POST', json: { to, body: 'Merhaba' } });
    assert.equal(res.status, 400, to);
    const { error } = (await res.json()) as { error: string };
    assert.match(error, /^to: 0\d+ is written the local way: give it with its country code, in international form/, to);
  }
  const campaign = await gw.request('/api/instance/default/bulk', {
    method: 'POST',
    json: { body: 'Kampanya', recipients: [{ id: '905550000002' }, { id: '0555 000 00 03' }] },
  });
  assert.equal(campaign.status, 400);
  assert.match(((await campaign.json()) as { error: string }).error, /^recipients\.1\.id: 05550000003 is written the local way/);
  // Nothing was stored for them; the same number in international form is accepted.
  assert.equal((await gw.db('messages').whereIn('chat_id', ['05550000002@s.whatsapp.net', '05550000003@s.whatsapp.net'])).length, 0);
  await assertPending('chat', { to: '+90 555 000 00 02', body: 'Merhaba' });
});

test('phone numbers with or without +, user JIDs (@s.whatsapp.net, @c.us) and group JIDs are accepted and stored as JIDs', async () => {
  const forms: Array<[string, string]> = [
    ['+905551234567', '905551234567@s.whatsapp.net'],
    ['905551234567', '905551234567@s.whatsapp.net'],
    ['905551234567@s.whatsapp.net', '905551234567@s.whatsapp.net'],
    ['905551234567@c.us', '905551234567@s.whatsapp.net'],
    ['120363123456789012@g.us', '120363123456789012@g.us'],
  ];
  for (const [to, jid] of forms) {
    const id = await assertPending('chat', { to, body: `to ${to}` });
    const row = await gw.db('messages').where({ instance_id: 'default', id }).first();
    assert.equal(row.chat_id, jid, to);
    assert.equal(row.body, `to ${to}`);
  }
  // The other endpoints take the same forms.
  await assertPending('poll', { ...endpoints.poll!.body, to: '120363123456789012@g.us' });
  await assertPending('reaction', { ...endpoints.reaction!.body, to: '905551234567@c.us' });
});

test('a reaction or a delete must name a message of the instance in that chat, and a delete one WhatsApp lets the account delete', async () => {
  const before = await storedCount();
  const target = endpoints.delete!.body.msgId as string;
  for (const type of ['reaction', 'delete']) {
    const unknown = await send(type, { ...endpoints[type]!.body, msgId: '3EB0FFFFFFFFFFFFFFFFFF' });
    assert.equal(unknown.status, 404, JSON.stringify(unknown.body));
    assert.equal(unknown.body.code, 'MESSAGE_NOT_FOUND');
    assert.match(unknown.body.error, /^msgId: no message 3EB0FFFFFFFFFFFFFFFFFF/);
    const elsewhere = await send(type, { ...endpoints[type]!.body, to: '905550001111' });
    assert.equal(elsewhere.status, 400);
    assert.match(
      elsewhere.body.error,
      new RegExp(`^msgId: message ${target} is in chat ${TO}@s.whatsapp.net, not 905550001111@s.whatsapp.net`),
    );
  }
  // A contact's message, and a group member's while the account is not an admin: WhatsApp would ignore the delete.
  const now = Math.floor(Date.now() / 1000);
  const theirs = (id: string, chat: string) => ({
    instance_id: 'default',
    id,
    chat_id: chat,
    from_me: false,
    type: 'chat',
    body: 'x',
    status: 'received',
    timestamp: now,
  });
  await gw.db('messages').insert([theirs('CONTACTS1', `${TO}@s.whatsapp.net`), theirs('MEMBERS1', '120363000000000077@g.us')]);
  const contacts = await send('delete', { to: TO, msgId: 'CONTACTS1' });
  assert.equal(contacts.status, 400);
  assert.match(contacts.body.error, /^msgId: message CONTACTS1 is the contact's/);
  await gw
    .db('instances')
    .where({ id: 'default' })
    .update({ account: JSON.stringify({ id: '905550000009:1@s.whatsapp.net', name: 'Me', phone: '905550000009' }) });
  const group = (admin: string | null) => ({
    instance_id: 'default',
    id: '120363000000000077@g.us',
    name: 'G',
    participants: JSON.stringify([
      { id: '905550000009@s.whatsapp.net', admin },
      { id: `${TO}@s.whatsapp.net`, admin: 'superadmin' },
    ]),
  });
  await gw.db('groups').insert(group(null));
  const member = await send('delete', { to: '120363000000000077@g.us', msgId: 'MEMBERS1' });
  assert.equal(member.status, 400);
  assert.match(member.body.error, /only the group's admins/);
  // The same delete as an admin goes (pending here: the instance is not connected); a reaction to anyone's message too.
  await gw
    .db('groups')
    .where({ instance_id: 'default', id: '120363000000000077@g.us' })
    .update({ participants: group('admin').participants });
  await assertPending('delete', { to: '120363000000000077@g.us', msgId: 'MEMBERS1' });
  await assertPending('reaction', { to: TO, msgId: 'CONTACTS1', emoji: '❤️' });
  await gw.db('instances').where({ id: 'default' }).update({ account: null });
  assert.equal(await storedCount(), before + 2 + 2, 'only the two accepted sends were recorded (and the two inserted)');
});

test("media whose bytes are not of the endpoint's kind is a 400, and the file is not kept", async () => {
  const files = () => (existsSync(join(dataDir, 'media', 'default')) ? readdirSync(join(dataDir, 'media', 'default')).length : 0);
  const kept = files();
  const text = `data:image/jpeg;base64,${Buffer.from('this is not a picture at all').toString('base64')}`;
  for (const [type, field] of [
    ['image', 'image'],
    ['video', 'video'],
    ['audio', 'audio'],
    ['voice', 'audio'],
    ['sticker', 'sticker'],
  ]) {
    const { status, body } = await send(type!, { to: TO, [field!]: text });
    assert.equal(status, 400, `${type}: ${JSON.stringify(body)}`);
    assert.equal(body.code, 'MEDIA_KIND');
    assert.match(body.error, new RegExp(`^${field}: the file is application/octet-stream, not `));
  }
  // A PNG is an image, not a sticker (WebP) nor a video; as a document anything goes.
  assert.match((await send('sticker', { to: TO, sticker: PNG_DATA_URI })).body.error, /^sticker: the file is image\/png, not a WebP image/);
  assert.match((await send('video', { to: TO, video: PNG_DATA_URI })).body.error, /^video: the file is image\/png, not a video/);
  assert.equal(files(), kept, 'no refused file was kept');
  await assertPending('document', { to: TO, document: text, filename: 'note.txt' });
  await assertPending('image', { to: TO, image: PNG_DATA_URI });
});

test('a body that is not sent as JSON is a 400 saying so, not "to is required"', async () => {
  for (const [type, payload] of [
    ['text/plain', JSON.stringify({ to: TO, body: 'hi' })],
    ['application/x-www-form-urlencoded', `to=${TO}&body=hi`],
    [undefined, JSON.stringify({ to: TO, body: 'hi' })],
  ] as const) {
    const res = await fetch(`${gw.baseUrl}/api/instance/default/messages/chat`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.token}`, ...(type ? { 'content-type': type } : {}) },
      body: type ? payload : new Blob([payload]),
    });
    const body = (await res.json()) as { error: string; code: string };
    assert.equal(res.status, 400, `${type}: ${JSON.stringify(body)}`);
    assert.equal(body.code, 'NOT_JSON');
    assert.match(body.error, type ? new RegExp(`it came as ${type.replace('+', '\\+')}`) : /without a Content-Type/);
  }
});

test('a poll needs 2 to 12 distinct options and a selectableCount of 0 or 1', async () => {
  const options = (n: number) => Array.from({ length: n }, (_, i) => `Seçenek ${i + 1}`);
  const poll = (extra: Record<string, unknown>) => ({ to: TO, name: 'Hangi gün?', ...extra });
  await assertRejected('poll', poll({ values: [] }), 'values');
  await assertRejected('poll', poll({ values: options(1) }), 'values');
  await assertRejected('poll', poll({ values: options(13) }), 'values');
  await assertRejected('poll', poll({ values: ['Pzt', 'Pzt'] }), 'values');
  await assertRejected('poll', poll({ values: options(2), selectableCount: 2 }), 'selectableCount');
  await assertRejected('poll', poll({ values: options(2), selectableCount: -1 }), 'selectableCount');
  await assertRejected('poll', poll({ values: options(2), selectableCount: '1' }), 'selectableCount');

  const two = await assertPending('poll', poll({ values: options(2) }));
  const twelve = await assertPending('poll', poll({ values: options(12), selectableCount: 1 }));
  const rows = await gw.db('messages').whereIn('id', [two, twelve]).orderBy('seq');
  assert.deepEqual(
    rows.map((r) => ({ values: r.content.values.length, selectableCount: r.content.selectableCount })),
    [
      { values: 2, selectableCount: 0 },
      { values: 12, selectableCount: 1 },
    ],
  );
});

test("a value over a size limit is refused in the API's words, naming the field and the limit", async () => {
  const refusal = async (type: string, body: Record<string, unknown>) => {
    const res = await gw.request(`/api/instance/default/messages/${type}`, { method: 'POST', json: body });
    assert.equal(res.status, 400);
    return ((await res.json()) as { error: string }).error;
  };
  assert.equal(await refusal('chat', { to: TO, body: 'x'.repeat(70_000) }), 'body: must be at most 65536 characters long');
  assert.equal(await refusal('location', { to: TO, lat: 91, lng: 0 }), 'lat: must be at most 90');
  assert.equal(
    await refusal('image', { to: TO, image: 'https://cdn.example.com/cat.png', caption: 'x'.repeat(5_000) }),
    'caption: must be at most 4096 characters long',
  );
  assert.equal(await refusal('reaction', { to: TO, msgId: 'x'.repeat(200), emoji: '👍' }), 'msgId: must be at most 128 characters long');
});

test('data URIs must be valid, non-empty base64 within the media size limit', async () => {
  for (const [type, field] of Object.entries(MEDIA_FIELDS)) {
    const body = (value: string) => ({ to: TO, [field]: value });
    assert.match(await assertRejected(type, body('data:image/png,abc'), field), /base64/);
    assert.match(await assertRejected(type, body('data:image/png;base64,@@@@'), field), /not valid base64/);
    assert.match(await assertRejected(type, body('data:image/png;base64,abc'), field), /not valid base64/);
    assert.match(await assertRejected(type, body('data:image/png;base64,'), field), /empty/);
  }
  const tooBig = await send('image', { to: TO, image: `data:image/png;base64,${Buffer.alloc(MAX_MEDIA_BYTES + 1).toString('base64')}` });
  assert.equal(tooBig.status, 413);
  assert.match(tooBig.body.error, /^image is larger than 65536 bytes/);

  const id = await assertPending('image', { to: TO, image: PNG_DATA_URI, caption: 'inline' });
  const row = await gw.db('messages').where({ instance_id: 'default', id }).first();
  const stored = await gw.db('media').where({ instance_id: 'default', filename: row.content.media.stored }).first();
  assert.equal(stored.mimetype, 'image/png', 'an inline image is kept as an uploaded file for the worker');
});

test('media URLs on loopback, private or link-local addresses are refused at the API', async () => {
  const before = await storedCount();
  const privateUrls = [
    'http://127.0.0.1/x.png',
    'http://127.0.0.1:5432/',
    'http://localhost/',
    'http://LOCALHOST:3000/media',
    'http://localhost./x',
    'http://api.localhost/x',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/',
    'http://[::ffff:127.0.0.1]/x',
    'http://[fe80::1]/x',
    'http://10.0.0.1/',
    'http://192.168.1.10/router.png',
    'http://172.16.5.4/x',
    'http://100.64.0.1/x',
    'http://0.0.0.0/x',
    'http://2130706433/x',
    'http://0x7f.0.0.1/x',
    'https://127.1/x',
  ];
  for (const [type, field] of Object.entries(MEDIA_FIELDS)) {
    for (const url of privateUrls) {
      const error = await assertRejected(type, { to: TO, [field]: url }, field, url);
      assert.match(error, /private, loopback or link-local/, `${type} ${url}`);
    }
  }
  assert.equal(await storedCount(), before);
});

test('media sources other than http(s) URLs, data URIs and uploads are refused', async () => {
  for (const [type, field] of Object.entries(MEDIA_FIELDS)) {
    for (const value of [
      'ftp://example.com/cat.png',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'gopher://example.com/',
      'cat.png',
      '/etc/passwd',
    ]) {
      const error = await assertRejected(type, { to: TO, [field]: value }, field, value);
      assert.match(error, /http\(s\) URL/, `${type} ${value}`);
    }
  }
});

test('an unknown instance is a 404 on every endpoint', async () => {
  for (const [type, { body }] of Object.entries(endpoints)) {
    const { status, body: answer } = await send(type, body, 'nope');
    assert.equal(status, 404, type);
    assert.deepEqual(answer, { error: 'instance nope not found', code: 'INSTANCE_NOT_FOUND' });
  }
  // Even with an invalid body: the instance is checked first.
  assert.equal((await send('chat', {}, 'nope')).status, 404);
  assert.equal((await send('chat', endpoints.chat!.body, '..%2Fdefault')).status, 400);
});

test('a JSON body over the API body limit (70 MB) is a 413', async () => {
  const huge = JSON.stringify({ to: TO, image: `data:image/png;base64,${'A'.repeat(71 * 1024 * 1024)}` });
  const res = await gw.request('/api/instance/default/messages/image', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: huge,
  });
  assert.equal(res.status, 413);
  assert.deepEqual(await res.json(), { error: 'request body too large', code: 'PAYLOAD_TOO_LARGE' });
});

test('malformed JSON is a 400 and none of the refused requests took the API down', async () => {
  const malformed = await gw.request('/api/instance/default/messages/chat', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"to": "905551234567", "body": ',
  });
  assert.equal(malformed.status, 400);
  assert.deepEqual(await malformed.json(), { error: 'malformed JSON body', code: 'MALFORMED_JSON' });

  const health = await fetch(`${gw.baseUrl}/health`);
  assert.equal(health.status, 200);
  assert.equal(((await health.json()) as { status: string }).status, 'ok');
  assert.equal(gw.api.child.exitCode, null, 'the API process is still running');
  assert.doesNotMatch(gw.api.output(), /"level":(50|60)/, 'nothing was logged as an error');
  await assertPending('chat', endpoints.chat!.body);
});
