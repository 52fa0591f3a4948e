import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { PNG } from 'pngjs';
import type { WAMessage } from '@whiskeysockets/baileys';
import { Simulator } from '../simulator/simulator.js';
import type { ReceivedMessage } from '../simulator/messages.js';
import { BareClient, waitFor } from './support/bareBaileys.js';

let sim: Simulator;
let client: BareClient;
const OWNER = '905551110000';
const CONTACT = '905551119999';

before(async () => {
  sim = await Simulator.start({ trace: process.env.SIM_TRACE ? (line) => process.stderr.write(`${line}\n`) : undefined });
  sim.addUser(OWNER, 'Media Owner');
  sim.addUser(CONTACT, 'Zeynep');
  // The client trusts the simulator's CA explicitly; TLS verification stays on.
  client = new BareClient(sim.url, { ca: sim.media.caPem });
  client.connect();
  const qr = await waitFor<string>(client, 'qr');
  const opened = waitFor(client, 'open', 20_000);
  await sim.scanQr(OWNER, qr);
  await opened;
});
after(async () => {
  await client?.stop();
  await sim?.stop();
});

/** A small real PNG: a 7×5 gradient. */
function tinyPng(): Buffer {
  const png = new PNG({ width: 7, height: 5 });
  for (let i = 0; i < png.data.length; i += 4) png.data.set([i % 256, (i * 3) % 256, 200, 255], i);
  return PNG.sync.write(png);
}

/** Sends with Baileys and returns what the contact's phone received. */
async function sendToContact(content: Parameters<NonNullable<BareClient['socket']>['sendMessage']>[1]): Promise<ReceivedMessage> {
  const sent = await client.socket!.sendMessage(`${CONTACT}@s.whatsapp.net`, content);
  const id = sent!.key.id!;
  const arrived = sim.received.find((m) => m.id === id && m.to === CONTACT && !m.ownCopy);
  return (
    arrived ??
    new Promise((resolve) => {
      const off = sim.onMessage((m) => m.id === id && m.to === CONTACT && !m.ownCopy && (off(), resolve(m)));
    })
  );
}

test('an image sent by Baileys is uploaded to the media host and reaches the phone byte for byte', async () => {
  const png = tinyPng();
  const received = await sendToContact({ image: png, mimetype: 'image/png', caption: 'küçük resim' });
  assert.equal(received.mediaError, undefined);
  assert.ok(received.media, 'the phone got media');
  assert.ok(received.media.bytes.equals(png), 'identical bytes');
  assert.equal(received.media.mimetype, 'image/png');
  assert.equal(received.media.caption, 'küçük resim');
  // The message points at the simulator's host, not mmg.whatsapp.net.
  assert.equal(new URL(received.message.imageMessage!.url!).host, sim.media.hostname);
});

test('a document sent by Baileys arrives with identical bytes, mimetype and file name', async () => {
  const pdf = Buffer.concat([Buffer.from('%PDF-1.4\n'), randomBytes(20_000)]);
  const received = await sendToContact({ document: pdf, mimetype: 'application/pdf', fileName: 'fatura.pdf' });
  assert.equal(received.mediaError, undefined);
  assert.ok(received.media?.bytes.equals(pdf), 'identical bytes');
  assert.equal(received.media!.mimetype, 'application/pdf');
  assert.equal(received.media!.fileName, 'fatura.pdf');
});

test('a voice note sent by Baileys arrives as ptt', async () => {
  const voice = randomBytes(3_000);
  const received = await sendToContact({ audio: voice, mimetype: 'audio/ogg; codecs=opus', ptt: true, seconds: 2 });
  assert.equal(received.mediaError, undefined);
  assert.ok(received.media?.bytes.equals(voice), 'identical bytes');
  assert.equal(received.media!.mimetype, 'audio/ogg; codecs=opus');
  assert.equal(received.media!.ptt, true);
});

test('video, sticker and plain audio sent by Baileys also arrive intact', async () => {
  const cases = [
    { content: { video: randomBytes(4_000), mimetype: 'video/mp4' }, field: 'video' },
    { content: { sticker: randomBytes(1_000) }, field: 'sticker', mimetype: 'image/webp' },
    { content: { audio: randomBytes(2_000), mimetype: 'audio/mpeg', seconds: 1 }, field: 'audio' },
  ] as const;
  for (const c of cases) {
    const bytes = (c.content as Record<string, unknown>)[c.field] as Buffer;
    const received = await sendToContact(c.content);
    assert.equal(received.mediaError, undefined, c.field);
    assert.ok(received.media?.bytes.equals(bytes), `${c.field}: identical bytes`);
    assert.equal(received.media!.mimetype, 'mimetype' in c ? c.mimetype : c.content.mimetype);
    if (c.field === 'audio') assert.equal(received.media!.ptt, false);
  }
});

/** Collects what Baileys surfaces from now on; `get(id)` waits for one message. */
function collectIncoming() {
  const seen = new Map<string, WAMessage>();
  const listener = (upsert: { messages: WAMessage[] }) => {
    for (const m of upsert.messages) if (m.key.id) seen.set(m.key.id, m);
  };
  client.on('messages', listener);
  return {
    async get(id: string): Promise<WAMessage> {
      if (!seen.has(id)) await waitFor(client, 'messages', 10_000, () => seen.has(id));
      return seen.get(id)!;
    },
    stop: () => client.off('messages', listener),
  };
}

test('an image from a simulated contact is downloaded by Baileys with identical bytes', async () => {
  const png = tinyPng();
  const incoming = collectIncoming();
  const { id } = await sim.sendMedia(CONTACT, OWNER, { kind: 'image', bytes: png, mimetype: 'image/png', caption: 'bak' });
  const message = await incoming.get(id);
  incoming.stop();
  assert.equal(message.message?.imageMessage?.mimetype, 'image/png');
  assert.equal(message.message?.imageMessage?.caption, 'bak');
  assert.ok((await client.download(message)).equals(png), 'identical bytes');
});

test('a voice note and a document from a simulated contact are downloaded by Baileys', async () => {
  const voice = randomBytes(5_000);
  const doc = randomBytes(12_345);
  const incoming = collectIncoming();
  const sentVoice = await sim.sendMedia(CONTACT, OWNER, { kind: 'voice', bytes: voice, mimetype: 'audio/ogg; codecs=opus', seconds: 3 });
  const sentDoc = await sim.sendMedia(CONTACT, OWNER, {
    kind: 'document',
    bytes: doc,
    mimetype: 'application/octet-stream',
    fileName: 'veri.bin',
  });
  const voiceMessage = await incoming.get(sentVoice.id);
  const docMessage = await incoming.get(sentDoc.id);
  incoming.stop();
  assert.equal(voiceMessage.message?.audioMessage?.ptt, true);
  assert.equal(voiceMessage.message?.audioMessage?.mimetype, 'audio/ogg; codecs=opus');
  assert.ok((await client.download(voiceMessage)).equals(voice), 'identical voice bytes');
  assert.equal(docMessage.message?.documentMessage?.fileName, 'veri.bin');
  assert.ok((await client.download(docMessage)).equals(doc), 'identical document bytes');
});

test('TLS is verified: untrusted without the CA, trusted through NODE_EXTRA_CA_CERTS', async () => {
  const bytes = randomBytes(64);
  const { url } = sim.media.put(bytes);
  // In this process nothing trusts the simulator's CA globally.
  await assert.rejects(fetch(url), (err: Error & { cause?: { code?: string } }) => /CERT|SIGNATURE|ISSUER/.test(err.cause?.code ?? ''));
  const dir = await mkdtemp(join(tmpdir(), 'sim-ca-'));
  try {
    const caFile = await sim.media.writeCa(join(dir, 'ca.pem'));
    // Node reads NODE_EXTRA_CA_CERTS at startup, so it is checked in a child process: fetch and node:https.
    const script = `
      const url = process.argv[1];
      const viaFetch = Buffer.from(await (await fetch(url)).arrayBuffer()).toString('hex');
      const https = await import('node:https');
      const viaHttps = await new Promise((resolve, reject) => https.get(url, (res) => {
        const chunks = []; res.on('data', (c) => chunks.push(c)); res.on('end', () => resolve(Buffer.concat(chunks).toString('hex')));
      }).on('error', reject));
      console.log(viaFetch + ' ' + viaHttps);`;
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script, url], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile },
    });
    assert.equal(stdout.trim(), `${bytes.toString('hex')} ${bytes.toString('hex')}`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
