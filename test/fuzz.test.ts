// Hostile and malformed requests against every route: a seeded fuzz of a few thousand requests that
// fails on any 5xx or any request not answered in time, and the cases that once answered 500.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { PNG } from 'pngjs';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { scanQr } from './support/fakePhone.js';
import { seededRandom } from './support/random.js';

let gw: Gateway;
const dataDir = join('/tmp', `wa-fuzz-${process.pid}`);

before(async () => {
  gw = await startGateway({ name: 'fuzz', workers: 1, env: { FAKE_ACCEPT_SENDS: '1', DATA_DIR: dataDir, SEND_WAIT_MS: '200' } });
  for (const id of ['fz', 'fz-gone']) {
    await gw.request('/api/instance', { method: 'POST', json: { id } });
    await gw.request(`/api/instance/${id}/connect`, { method: 'POST' });
  }
  await eventually(async () => (await gw.db('instances').where({ id: 'fz' }).first())?.qr, 20_000, 'QR');
  await scanQr(gw.db, 'fz');
  await eventually(async () => (await gw.db('instances').where({ id: 'fz' }).first())?.status === 'open', 20_000, 'open');
});
after(async () => {
  await gw?.stop();
});

/** Every route of the API, `{i}` for the instance. */
const SEND_TYPES = ['chat', 'image', 'video', 'document', 'audio', 'voice', 'sticker', 'location', 'contact', 'poll', 'reaction', 'delete'];
const ROUTES: Array<[string, string]> = [
  ['GET', '/api/instance'],
  ['POST', '/api/instance'],
  ['GET', '/api/instance/{i}'],
  ['DELETE', '/api/instance/{i}'],
  ...['status', 'qr', 'qrcode', 'me'].map((p): [string, string] => ['GET', `/api/instance/{i}/${p}`]),
  ...['connect', 'logout', 'restart', 'clear'].map((p): [string, string] => ['POST', `/api/instance/{i}/${p}`]),
  ...SEND_TYPES.map((t): [string, string] => ['POST', `/api/instance/{i}/messages/${t}`]),
  ['GET', '/api/instance/{i}/messages'],
  ['GET', '/api/instance/{i}/messages/statistics'],
  ['POST', '/api/instance/{i}/messages/clear'],
  ['GET', '/api/instance/{i}/chats'],
  ['GET', '/api/instance/{i}/chats/ids'],
  ['GET', '/api/instance/{i}/chats/messages'],
  ...['read', 'archive', 'unarchive', 'delete'].map((p): [string, string] => ['POST', `/api/instance/{i}/chats/${p}`]),
  ...['', '/ids', '/check', '/contact', '/image'].map((p): [string, string] => ['GET', `/api/instance/{i}/contacts${p}`]),
  ...['block', 'unblock'].map((p): [string, string] => ['POST', `/api/instance/{i}/contacts/${p}`]),
  ...['', '/ids', '/group'].map((p): [string, string] => ['GET', `/api/instance/{i}/groups${p}`]),
  ['POST', '/api/instance/{i}/presence'],
  ['POST', '/api/instance/{i}/media/upload'],
  ['GET', '/api/instance/{i}/media/list'],
  ['DELETE', '/api/instance/{i}/media/delete'],
  ['POST', '/api/instance/{i}/media/delete'],
  ['POST', '/api/instance/{i}/pairing-code'],
  ['GET', '/api/instance/{i}/calls'],
  ['GET', '/api/instance/{i}/settings'],
  ['POST', '/api/instance/{i}/settings'],
  ['PUT', '/api/instance/{i}/settings'],
  ['GET', '/api/instance/{i}/webhooks/deliveries'],
  ['GET', '/api/instance/{i}/webhooks/deliveries/{x}'],
  ['POST', '/api/instance/{i}/webhooks/deliveries/{x}/retry'],
  ['POST', '/api/instance/{i}/webhooks/test'],
  ['POST', '/api/instance/{i}/scheduled'],
  ['GET', '/api/instance/{i}/scheduled'],
  ['GET', '/api/instance/{i}/scheduled/{n}'],
  ['POST', '/api/instance/{i}/scheduled/{n}'],
  ['DELETE', '/api/instance/{i}/scheduled/{n}'],
  ['POST', '/api/instance/{i}/bulk'],
  ['GET', '/api/instance/{i}/bulk'],
  ['GET', '/api/instance/{i}/bulk/{n}'],
  ...['cancel', 'pause', 'resume'].map((p): [string, string] => ['POST', `/api/instance/{i}/bulk/{n}/${p}`]),
  ['GET', '/api/instance/{i}/optouts'],
  ['POST', '/api/instance/{i}/optouts'],
  ['DELETE', '/api/instance/{i}/optouts'],
  ['GET', '/api/instance/{i}/chatbot/rules'],
  ['POST', '/api/instance/{i}/chatbot/rules'],
  ['DELETE', '/api/instance/{i}/chatbot/rules/{n}'],
  ['POST', '/api/instance/{i}/chatbot/toggle'],
  ['GET', '/media/{i}/{x}'],
  ['GET', '/health'],
];

/** Field names the routes read, tried with every kind of value. */
const FIELDS = [
  'id',
  'to',
  'body',
  'image',
  'video',
  'document',
  'audio',
  'sticker',
  'caption',
  'filename',
  'lat',
  'lng',
  'name',
  'address',
  'contact_name',
  'contact_phone',
  'values',
  'selectableCount',
  'msgId',
  'emoji',
  'chatId',
  'recipients',
  'messageType',
  'mediaUrl',
  'delay',
  'delayMax',
  'scheduledAt',
  'startAt',
  'state',
  'typing',
  'typingMs',
  'messageIds',
  'recipient',
  'recipientName',
  'webhookUrl',
  'webhookEnabled',
  'webhookSecret',
  'sendDelay',
  'optOutKeywords',
  'chatbotEnabled',
  'chatbotPauseMinutes',
  'chatbotRepliesPerMinute',
  'timezone',
  'rejectCalls',
  'rejectCallsMessage',
  'before',
  'match_type',
  'trigger_text',
  'response',
  'priority',
  'enabled',
  'limit',
  'page',
  'status',
  'phone',
  'groupId',
  'filename',
  'event',
  'jid',
];

const random = seededRandom(20_261_201);
const pick = <T>(items: readonly T[]): T => items[random(items.length)]!;

const STRINGS = [
  '',
  ' ',
  'x',
  'ş',
  'İ',
  '😀',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udc00',
  '905551112233',
  '905551112233@s.whatsapp.net',
  '+90 555 111 22 33',
  '120363000000000001@g.us',
  '12345@lid',
  'status@broadcast',
  '0',
  '-1',
  '1.5',
  '1e308',
  'NaN',
  'true',
  'null',
  '[]',
  '{}',
  'http://127.0.0.1/x.png',
  'http://[::127.0.0.1]/a',
  'http://localhost./a',
  'https://example.invalid/a.jpg',
  'file:///etc/passwd',
  'javascript:alert(1)',
  'data:image/png;base64,iVBORw0KGgo=',
  'data:,plain',
  'data:image/png;base64,@@@',
  '../../etc/passwd',
  '%00',
  '%E0%A4%A',
  '2026-12-24T09:00:00+03:00',
  '2000-01-01T00:00:00Z',
  '9999-12-31T23:59:59Z',
  'not a date',
  '(a+)+$',
  '(?=x)',
  '[',
  'whsec_AAAA',
  'Europe/Istanbul',
  'Mars/Olympus',
  'exact',
  'regex',
  'text',
  'image',
  'document',
  'pending',
  '<script>',
  "'; drop table messages; --",
  'x'.repeat(5_000),
];
const SEGMENTS = [
  'fz',
  'fz-gone',
  'nope',
  '%E0%A4%A',
  '%ZZ',
  '%',
  '..',
  '%2e%2e',
  'a'.repeat(300),
  '%00',
  'ş',
  '1',
  '-1',
  '99999999999999999999',
  '0x10',
];

/** Percent-encoded; a lone surrogate (which has no UTF-8) as the bytes of one, which decode to nothing valid. */
const enc = (text: string) => {
  try {
    return encodeURIComponent(text);
  } catch {
    return '%ED%A0%80';
  }
};

/** Text Postgres cannot store, given often: it must be refused before it gets there. */
const POISON = ['\u0000', 'a\u0000b', '\ud800', 'x\udc00y', 'ş\ud83d'];

function value(depth = 0): unknown {
  switch (random(depth > 2 ? 3 : 10)) {
    case 8:
    case 9:
      return pick(POISON);
    case 0:
      return pick(STRINGS);
    case 1:
      return pick([0, 1, -1, 1.5, 3_601, 2 ** 31, -(2 ** 53), 1e308, 1_000_000_000]);
    case 2:
      return pick([true, false, null]);
    case 3:
      return Array.from({ length: random(4) }, () => value(depth + 1));
    case 4:
      return Object.fromEntries(Array.from({ length: random(4) }, () => [pick(FIELDS), value(depth + 1)]));
    case 5:
      return Array.from({ length: 1 + random(3) }, () => ({ id: pick(STRINGS), name: pick(STRINGS) }));
    default:
      return pick(STRINGS);
  }
}

interface Attempt {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

const TO = '905551112233';
// Small files of each kind (content sniffing checks a send's media is of the endpoint's kind).
const dataUri = (mime: string, bytes: Buffer) => `data:${mime};base64,${bytes.toString('base64')}`;
const IMAGE = dataUri('image/png', PNG.sync.write(new PNG({ width: 1, height: 1 })));
const VIDEO = dataUri(
  'video/mp4',
  Buffer.concat([Buffer.from('000000186674797069736f6d0000020069736f6d69736f32', 'hex'), Buffer.alloc(64)]),
);
const AUDIO = dataUri(
  'audio/mpeg',
  Buffer.concat([
    Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'),
    ...[0, 1].map(() => Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), Buffer.alloc(413)])),
  ]),
);
const STICKER = dataUri('image/webp', Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1'), Buffer.alloc(40)]));
const later = () => new Date(Date.now() + 3_600_000).toISOString();
/** A valid body per route: the fuzz mutates these, so that its values get past the fields it leaves alone. */
const VALID: Partial<Record<string, () => Record<string, unknown>>> = {
  'POST /api/instance': () => ({ id: `fzx${random(1_000)}` }),
  'POST /api/instance/{i}/messages/chat': () => ({ to: TO, body: 'merhaba' }),
  'POST /api/instance/{i}/messages/image': () => ({ to: TO, image: IMAGE, caption: 'resim' }),
  'POST /api/instance/{i}/messages/video': () => ({ to: TO, video: VIDEO, caption: 'video' }),
  'POST /api/instance/{i}/messages/document': () => ({ to: TO, document: IMAGE, filename: 'a.pdf', caption: 'belge' }),
  'POST /api/instance/{i}/messages/audio': () => ({ to: TO, audio: AUDIO }),
  'POST /api/instance/{i}/messages/voice': () => ({ to: TO, audio: AUDIO }),
  'POST /api/instance/{i}/messages/sticker': () => ({ to: TO, sticker: STICKER }),
  'POST /api/instance/{i}/messages/location': () => ({ to: TO, lat: 41.01, lng: 28.97, name: 'Galata', address: 'İstanbul' }),
  'POST /api/instance/{i}/messages/contact': () => ({ to: TO, contact_name: 'Ayşe', contact_phone: '905551112234' }),
  'POST /api/instance/{i}/messages/poll': () => ({ to: TO, name: 'Hangisi?', values: ['çay', 'kahve'], selectableCount: 1 }),
  'POST /api/instance/{i}/messages/reaction': () => ({ to: TO, msgId: '3EB0AAAAAAAAAAAAAAAAAA', emoji: '👍' }),
  'POST /api/instance/{i}/messages/delete': () => ({ to: TO, msgId: '3EB0AAAAAAAAAAAAAAAAAA' }),
  'POST /api/instance/{i}/chats/read': () => ({ chatId: TO }),
  'POST /api/instance/{i}/presence': () => ({ to: TO, state: 'composing' }),
  'POST /api/instance/{i}/chats/archive': () => ({ chatId: TO }),
  'POST /api/instance/{i}/contacts/block': () => ({ chatId: TO }),
  'POST /api/instance/{i}/settings': () => ({
    webhookUrl: 'https://example.invalid/hook',
    sendDelay: 0,
    timezone: 'UTC',
    optOutKeywords: 'STOP',
  }),
  'PUT /api/instance/{i}/settings': () => ({
    chatbotPauseMinutes: 5,
    chatbotRepliesPerMinute: 10,
    rejectCalls: false,
    rejectCallsMessage: 'Arayamıyoruz',
  }),
  'POST /api/instance/{i}/pairing-code': () => ({ phone: TO }),
  'POST /api/instance/{i}/scheduled': () => ({ recipient: TO, recipientName: 'Ali', body: 'Merhaba {name}', scheduledAt: later() }),
  'POST /api/instance/{i}/scheduled/{n}': () => ({ scheduledAt: later(), body: 'yeni' }),
  'POST /api/instance/{i}/bulk': () => ({ recipients: [{ id: TO, name: 'Ali' }], body: 'Merhaba {name}', delay: 0 }),
  'POST /api/instance/{i}/optouts': () => ({ chatId: TO }),
  'DELETE /api/instance/{i}/optouts': () => ({ chatId: TO }),
  'POST /api/instance/{i}/chatbot/rules': () => ({ match_type: 'contains', trigger_text: 'fiyat', response: 'Merhaba {name}', delay: 0 }),
  'POST /api/instance/{i}/chatbot/toggle': () => ({ enabled: true }),
  'POST /api/instance/{i}/media/delete': () => ({ filename: '1700000000000-0123456789abcdef0123456789abcdef.png' }),
};
/** Routes that would take the instance under test away: they get the spare one. */
const DESTRUCTIVE = new Set(['DELETE /api/instance/{i}', 'POST /api/instance/{i}/logout', 'POST /api/instance/{i}/clear']);

function attempt(): Attempt {
  const [method, template] = pick(ROUTES);
  const route = `${method} ${template}`;
  const instance = DESTRUCTIVE.has(route) ? 'fz-gone' : random(8) === 0 ? pick(SEGMENTS) : 'fz';
  const path = template
    .replace('{i}', instance)
    .replace('{x}', pick(SEGMENTS))
    .replace('{n}', pick(['1', '0', '-5', 'abc', '2147483648', '%E0%A4%A', '1.5']));
  const query = Array.from({ length: random(3) }, () => `${enc(pick(FIELDS))}=${enc(String(pick(STRINGS)))}`);
  if (random(12) === 0) query.push(pick(['%E0%A4%A=1', 'limit=%ZZ', 'a[b][c]=1', 'chatId[]=1&chatId[]=2']));
  const headers: Record<string, string> = { authorization: `Bearer ${gw.token}` };
  const url = `${path}${query.length ? `?${query.join('&')}` : ''}`;
  // fetch sends no body with a GET; a DELETE may carry one.
  if (method === 'GET' || (method === 'DELETE' && random(4) !== 0)) return { method, path: url, headers };
  // Mostly a valid body with a field or two changed; sometimes fields at random, or no object at all.
  const valid = VALID[route];
  const fields: Record<string, unknown> = valid && random(4) !== 0 ? valid() : {};
  for (let n = valid ? 1 + random(2) : random(6); n > 0; n--) {
    const keys = Object.keys(fields);
    fields[keys.length && random(4) !== 0 ? pick(keys) : pick(FIELDS)] = value();
  }
  let body: string | Uint8Array = JSON.stringify(random(12) === 0 ? value() : fields);
  headers['content-type'] = 'application/json';
  switch (random(14)) {
    case 0:
      body = body.slice(0, Math.max(1, body.length - 3)); // truncated JSON
      break;
    case 1:
      headers['content-encoding'] = 'gzip'; // claims gzip, is not
      break;
    case 2:
      headers['content-encoding'] = 'gzip';
      body = new Uint8Array(gzipSync(body));
      break;
    case 3:
      headers['content-encoding'] = pick(['br', 'compress', 'x-unknown']);
      break;
    case 4:
      headers['content-type'] = pick([
        'text/plain',
        'application/x-www-form-urlencoded',
        'multipart/form-data; boundary=zz',
        'application/json; charset=latin9',
      ]);
      break;
    case 5:
      body = '{"body":"\\u0000","caption":"\\ud800"}';
      break;
  }
  return { method, path: url, headers, body };
}

const TIMEOUT_MS = 15_000;

async function send(a: Attempt): Promise<number> {
  const res = await fetch(`${gw.baseUrl}${a.path}`, {
    method: a.method,
    headers: a.headers,
    body: a.body as BodyInit | undefined,
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  await res.arrayBuffer();
  return res.status;
}

test('the requests that once answered 500 are refused with a 400 that names the problem', async () => {
  const expect400 = async (what: string, a: Attempt, error: RegExp) => {
    const res = await fetch(`${gw.baseUrl}${a.path}`, { method: a.method, headers: a.headers, body: a.body as BodyInit | undefined });
    const body = (await res.json()) as { error: string; code: string };
    assert.equal(res.status, 400, `${what}: ${JSON.stringify(body)}`);
    assert.match(body.error, error, what);
  };
  const auth = { authorization: `Bearer ${gw.token}` };
  const json = { ...auth, 'content-type': 'application/json' };
  await expect400(
    'a malformed percent-escape in the path',
    { method: 'GET', path: '/api/instance/%E0%A4%A/status', headers: auth },
    /malformed percent-escape/,
  );
  await expect400('the same under /media', { method: 'GET', path: '/media/%E0%A4%A/x.png', headers: {} }, /malformed percent-escape/);
  await expect400(
    'a body claiming gzip that is not gzip',
    {
      method: 'POST',
      path: '/api/instance/fz/messages/chat',
      headers: { ...json, 'content-encoding': 'gzip' },
      body: '{"to":"905551112233","body":"x"}',
    },
    /body could not be read/,
  );
  await expect400(
    'NUL in a text',
    { method: 'POST', path: '/api/instance/fz/messages/chat', headers: json, body: '{"to":"905551112233","body":"a\\u0000b"}' },
    /^body: text must not contain NUL/,
  );
  await expect400(
    'a lone surrogate in a caption',
    {
      method: 'POST',
      path: '/api/instance/fz/messages/image',
      headers: json,
      body: '{"to":"905551112233","image":"data:image/png;base64,iVBORw0KGgo=","caption":"\\ud800"}',
    },
    /^caption: text must not contain NUL .* unpaired surrogates/,
  );
  await expect400(
    'NUL in the query',
    { method: 'GET', path: '/api/instance/fz/messages?chatId=%00', headers: auth },
    /^chatId: text must not contain NUL/,
  );
  // A gzipped body that is gzip is read as usual.
  const gz = await fetch(`${gw.baseUrl}/api/instance/fz/chatbot/toggle`, {
    method: 'POST',
    headers: { ...json, 'content-encoding': 'gzip' },
    body: new Uint8Array(gzipSync('{"enabled":true}')),
  });
  assert.equal(gz.status, 200);
});

test('media stored for a send that stores no message is removed: a retry with the same Idempotency-Key keeps one file', async () => {
  const files = async () => (await readdir(join(dataDir, 'media', 'fz')).catch(() => [] as string[])).length;
  const before = await files();
  const send = () =>
    gw.request('/api/instance/fz/messages/image', {
      method: 'POST',
      headers: { 'idempotency-key': 'fuzz-image-1' },
      json: { to: '905551112233', image: IMAGE },
    });
  const [first, again] = [await send(), await send()];
  assert.ok([200, 202].includes(first.status) && [200, 202].includes(again.status), `${first.status} ${again.status}`);
  assert.equal(((await first.json()) as { id: string }).id, ((await again.json()) as { id: string }).id);
  assert.equal(await files(), before + 1, 'the retry left no second file');
});

test('3,000 fuzzed requests over every route: never a 5xx, never a hang', async (t) => {
  const statuses = new Map<number, number>();
  const failures: string[] = [];
  const attempts = Array.from({ length: 3_000 }, attempt);
  let next = 0;
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      while (next < attempts.length) {
        const a = attempts[next++]!;
        try {
          const status = await send(a);
          statuses.set(status, (statuses.get(status) ?? 0) + 1);
          if (status >= 500) failures.push(`${status} ${a.method} ${a.path} ${String(a.body ?? '').slice(0, 300)}`);
        } catch (err) {
          failures.push(`${(err as Error).name} ${a.method} ${a.path} ${String(a.body ?? '').slice(0, 300)}`);
        }
      }
    }),
  );
  const summary = [...statuses]
    .sort(([a], [b]) => a - b)
    .map(([s, n]) => `${s}: ${n}`)
    .join(', ');
  t.diagnostic(`statuses: ${summary}`);
  assert.deepEqual(failures.slice(0, 20), [], `statuses ${summary}`);
  // The fuzz reaches past validation too: some requests succeed.
  assert.ok((statuses.get(200) ?? 0) >= 300, summary);
});
