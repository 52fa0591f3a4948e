// Every send endpoint, through the gateway to a simulated phone, on real Baileys.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import { eventually, type Gateway } from './support/gateway.js';
import { scenario } from './support/scenario.js';
import { fakeMp4, solidPng } from './support/media.js';

const OWNER = '905553000001';
const BOB = '905553000002';
const CAROL = '905553000003';
const SLOW_MS = 3_000;
let sim: Simulator;
let gw: Gateway;
let files: Server;
let filesUrl = '';

// Small but real files: content sniffing must recognise each of them.
const png = solidPng(8, 200);
const mp4 = fakeMp4();
const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(300), Buffer.from('\n%%EOF\n')]);
// An ID3 tag, then MPEG audio frames (what content sniffing looks for after the tag).
const mp3Frame = Buffer.concat([Buffer.from([0xff, 0xfb, 0x90, 0x64]), randomBytes(413)]);
const mp3 = Buffer.concat([Buffer.from('ID3\x04\x00\x00\x00\x00\x00\x00', 'latin1'), mp3Frame, mp3Frame]);
const ogg = Buffer.concat([Buffer.from('OggS\x00\x02', 'latin1'), randomBytes(26), Buffer.from('OpusHead'), randomBytes(200)]);
const webp = Buffer.concat([Buffer.from('RIFF\x24\x00\x00\x00WEBPVP8 ', 'latin1'), randomBytes(40)]);

const s = scenario({
  name: 'e2e_types',
  users: [
    [BOB, 'Bob'],
    [CAROL, 'Carol'],
  ],
  mediaCa: true,
  // The test's file server is on loopback, which the gateway refuses unless allowed.
  env: { MEDIA_ALLOW_PRIVATE_URLS: 'true' },
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => {
  ({ sim, gw } = await s.start());
  files = createServer((req, res) => {
    // A slow media host: the file comes after SLOW_MS.
    if (req.url === '/slow.mp4') return void setTimeout(() => res.writeHead(200, { 'content-type': 'video/mp4' }).end(mp4), SLOW_MS);
    if (req.url === '/page.html')
      return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html><body>not a picture</body></html>');
    const body = { '/clip.mp4': mp4, '/song.mp3': mp3 }[req.url ?? ''];
    if (!body) return res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(body);
  });
  await new Promise<void>((resolve) => files.listen(0, '127.0.0.1', resolve));
  filesUrl = `http://127.0.0.1:${(files.address() as AddressInfo).port}`;
});
after(async () => {
  await s.stop();
  files?.close();
});

async function send(type: string, body: Record<string, unknown>) {
  const res = await gw.request(`/api/instance/shop/messages/${type}`, { method: 'POST', json: { to: BOB, ...body } });
  const json = (await res.json()) as Record<string, any>;
  assert.equal(res.status, 200, `${type}: ${JSON.stringify(json)}`);
  return json;
}
const atBob = (id: string) =>
  eventually(async () => sim.received.find((m) => m.id === id && m.to === BOB && !m.ownCopy), 20_000, `message ${id}`);

test('image from a data URI arrives byte for byte with its caption', async () => {
  const { id } = await send('image', { image: `data:image/png;base64,${png.toString('base64')}`, caption: 'Ürün görseli' });
  const got = await atBob(id);
  assert.ok(got.media, got.mediaError);
  assert.deepEqual(got.media.bytes, png);
  assert.equal(got.media.mimetype, 'image/png');
  assert.equal(got.message.imageMessage?.caption, 'Ürün görseli');
});

test('video from a URL arrives byte for byte', async () => {
  const { id } = await send('video', { video: `${filesUrl}/clip.mp4`, caption: 'Tanıtım' });
  const got = await atBob(id);
  assert.deepEqual(got.media?.bytes, mp4);
  assert.equal(got.media?.mimetype, 'video/mp4');
});

test('document from an uploaded file keeps its filename and content-detected mimetype', async () => {
  const form = new FormData();
  form.append('file', new Blob([pdf]), 'rapor.txt'); // the name lies; the bytes are a PDF
  const upload = (await (await gw.request('/api/instance/shop/media/upload', { method: 'POST', body: form })).json()) as {
    file: Record<string, any>;
  };
  assert.equal(upload.file.mimetype, 'application/pdf');
  assert.equal(upload.file.originalname, 'rapor.txt');
  assert.match(upload.file.filename, /^\d+-[0-9a-f]{32}\.pdf$/);
  const served = await fetch(upload.file.url.replace(/^http:\/\/localhost:\d+/, gw.baseUrl));
  assert.equal(served.headers.get('content-type'), 'application/pdf');
  assert.deepEqual(Buffer.from(await served.arrayBuffer()), pdf);

  const { id } = await send('document', { document: upload.file.url, filename: 'rapor.pdf', caption: 'Mart raporu' });
  const got = await atBob(id);
  assert.deepEqual(got.media?.bytes, pdf);
  assert.equal(got.media?.fileName, 'rapor.pdf');
  assert.equal(got.media?.mimetype, 'application/pdf');
});

test('audio plays as music and voice arrives as a push-to-talk note', async () => {
  const audio = await send('audio', { audio: `${filesUrl}/song.mp3` });
  const voice = await send('voice', { audio: `data:audio/ogg;base64,${ogg.toString('base64')}` });
  const music = await atBob(audio.id);
  const note = await atBob(voice.id);
  assert.deepEqual(music.media?.bytes, mp3);
  assert.equal(music.media?.ptt, false);
  assert.deepEqual(note.media?.bytes, ogg);
  assert.equal(note.media?.ptt, true);
});

test('sticker arrives as a WebP sticker', async () => {
  const { id } = await send('sticker', { sticker: `data:image/webp;base64,${webp.toString('base64')}` });
  const got = await atBob(id);
  assert.ok(got.message.stickerMessage);
  assert.deepEqual(got.media?.bytes, webp);
});

test('location, contact card and poll arrive with their fields', async () => {
  const location = await atBob((await send('location', { lat: 41.0082, lng: 28.9784, name: 'İstanbul', address: 'Fatih' })).id);
  assert.equal(location.message.locationMessage?.degreesLatitude, 41.0082);
  assert.equal(location.message.locationMessage?.degreesLongitude, 28.9784);
  assert.equal(location.message.locationMessage?.name, 'İstanbul');

  const contact = await atBob((await send('contact', { contact_name: 'Ahmet', contact_phone: '905551112233' })).id);
  assert.equal(contact.message.contactMessage?.displayName, 'Ahmet');
  assert.match(contact.message.contactMessage?.vcard ?? '', /FN:Ahmet[\s\S]*waid=905551112233:\+905551112233/);

  const poll = await atBob((await send('poll', { name: 'Toplantı?', values: ['Pzt', 'Çar', 'Cum'], selectableCount: 1 })).id);
  const creation = poll.message.pollCreationMessage ?? poll.message.pollCreationMessageV3 ?? poll.message.pollCreationMessageV2;
  assert.equal(creation?.name, 'Toplantı?');
  assert.deepEqual(
    creation?.options?.map((o) => o.optionName),
    ['Pzt', 'Çar', 'Cum'],
  );
  assert.equal(creation?.selectableOptionsCount, 1);
});

test('a reaction points at the message, and delete revokes it for everyone', async () => {
  const original = await send('chat', { body: 'react to me' });
  await atBob(original.id);
  const reaction = await atBob((await send('reaction', { msgId: original.id, emoji: '👍' })).id);
  assert.equal(reaction.message.reactionMessage?.text, '👍');
  assert.equal(reaction.message.reactionMessage?.key?.id, original.id);
  assert.equal(reaction.message.reactionMessage?.key?.fromMe, true);

  const deleted = await send('delete', { msgId: original.id });
  assert.equal(deleted.deleted, true);
  const revoke = await atBob(deleted.id);
  assert.equal(revoke.message.protocolMessage?.type, 0); // REVOKE
  assert.equal(revoke.message.protocolMessage?.key?.id, original.id);
});

test('media can be listed and deleted, and a deleted file is gone', async () => {
  const list = (await (await gw.request('/api/instance/shop/media/list')).json()) as Array<{ filename: string; url: string; size: number }>;
  assert.ok(list.length >= 3, 'data URIs and uploads are stored');
  const victim = list[0]!;
  const res = await gw.request(`/api/instance/shop/media/delete?filename=${victim.filename}`, { method: 'DELETE' });
  assert.deepEqual(await res.json(), { success: true, deleted: victim.filename });
  assert.equal((await fetch(`${gw.baseUrl}/media/shop/${victim.filename}`)).status, 404);
  assert.equal((await gw.request(`/api/instance/shop/media/delete?filename=${victim.filename}`, { method: 'DELETE' })).status, 404);
  for (const bad of ['../../etc/passwd', '..%2F..%2Fdb', 'x.pdf']) {
    assert.equal((await fetch(`${gw.baseUrl}/media/shop/${bad}`)).status >= 400, true, bad);
  }
});

test('media that cannot be fetched fails the message with the reason, and later messages still go out', async () => {
  const res = await gw.request('/api/instance/shop/messages/image', {
    method: 'POST',
    json: { to: BOB, image: `${filesUrl}/missing.jpg` },
  });
  const failed = (await res.json()) as Record<string, any>;
  assert.equal(res.status, 422);
  assert.equal(failed.status, 'failed');
  assert.match(failed.error, /HTTP 404/);
  const row = await gw.db('messages').where({ instance_id: 'shop', id: failed.id }).first();
  assert.equal(row.status, 'failed');
  assert.match(row.error, /HTTP 404/);
  assert.equal(
    sim.received.some((m) => m.id === failed.id),
    false,
  );
  const { id } = await send('chat', { body: 'after the failure' });
  await atBob(id);
});

test('a slow media URL holds back only its recipient: other chats go first, its next message still follows it', async () => {
  const started = Date.now();
  // The video's request answers once it is sent (after the slow fetch): not awaited here.
  const slow = gw.request('/api/instance/shop/messages/video', { method: 'POST', json: { to: BOB, video: `${filesUrl}/slow.mp4` } });
  await eventually(
    async () => (await gw.db('messages').where({ instance_id: 'shop', type: 'video', status: 'pending' }).first()) ?? undefined,
    5_000,
    'the video accepted',
  );
  const after = gw.request('/api/instance/shop/messages/chat', { method: 'POST', json: { to: BOB, body: 'after the video' } });
  await eventually(
    async () => (await gw.db('messages').where({ instance_id: 'shop', body: 'after the video' }).first()) ?? undefined,
    5_000,
    'the text accepted',
  );
  const { id: toCarol } = await send('chat', { to: CAROL, body: 'not held up' });
  const carolAt = (
    await eventually(async () => sim.received.find((m) => m.id === toCarol && m.to === CAROL && !m.ownCopy), 20_000, 'Carol')
  ).receivedAt;
  const video = (await (await slow).json()) as { id: string };
  const text = (await (await after).json()) as { id: string };
  const videoAt = (await atBob(video.id)).receivedAt;
  const textAt = (await atBob(text.id)).receivedAt;
  console.log(
    `# slow media: Carol's text after ${carolAt - started} ms, Bob's video after ${videoAt - started} ms, his next text after ${textAt - started} ms`,
  );
  assert.ok(carolAt < videoAt, "Carol's message went out before the slow video");
  assert.ok(carolAt - started < SLOW_MS, "Carol's message did not wait for the fetch");
  assert.ok(videoAt <= textAt, 'Bob got his messages in the order they were sent');
  const bobs = sim.received.filter((m) => m.to === BOB && !m.ownCopy).map((m) => m.id);
  assert.ok(bobs.indexOf(video.id) < bobs.indexOf(text.id));
});

test("a URL whose file is not of the endpoint's kind fails the message with the reason; nothing reaches the phone", async () => {
  const res = await gw.request('/api/instance/shop/messages/image', { method: 'POST', json: { to: BOB, image: `${filesUrl}/page.html` } });
  const failed = (await res.json()) as Record<string, any>;
  assert.equal(res.status, 422, JSON.stringify(failed));
  assert.match(failed.error, /page\.html: the file is text\/html, not an image$/);
  assert.equal(
    sim.received.some((m) => m.id === failed.id),
    false,
  );
});

test("a contact's message cannot be deleted for everyone: 400 saying why, and nothing is sent", async () => {
  const incoming = await sendFromPhone(sim, sim.user(BOB), sim.user(OWNER), { conversation: 'please delete me' });
  await eventually(
    async () => (await gw.db('messages').where({ instance_id: 'shop', id: incoming }).first()) ?? undefined,
    20_000,
    'the message stored',
  );
  const before = sim.received.length;
  const res = await gw.request('/api/instance/shop/messages/delete', { method: 'POST', json: { to: BOB, msgId: incoming } });
  const body = (await res.json()) as { error: string };
  assert.equal(res.status, 400, JSON.stringify(body));
  assert.match(body.error, /is the contact's/);
  // A reaction to it is fine.
  const reaction = await gw.request('/api/instance/shop/messages/reaction', {
    method: 'POST',
    json: { to: BOB, msgId: incoming, emoji: '👍' },
  });
  assert.equal(reaction.status, 200);
  await eventually(async () => sim.received.length > before || undefined, 20_000, 'the reaction at Bob');
  assert.equal(sim.received.filter((m) => m.to === BOB).at(-1)?.message.reactionMessage?.text, '👍');
});
