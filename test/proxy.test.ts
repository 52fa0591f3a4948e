// A per-instance proxy, on real Baileys against the simulator: the websocket, media uploads and media
// downloads go through an HTTP CONNECT or a SOCKS5 proxy (with credentials), a change reconnects through
// the new one, and "" goes direct again. The proxies count what passes; the simulator records the source
// port of every connection made to it, so a connection that did not come from a proxy shows.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileSync } from 'node:fs';
import { Simulator } from '../simulator/simulator.js';
import { makeCertificates } from '../simulator/media.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { enableWebhook } from './support/pairing.js';
import { simulatorEnv } from './support/scenario.js';
import { startHttpProxy, startSocksProxy, type TestProxy } from './support/proxies.js';
import { solidPng } from './support/media.js';

const OWNER = '905557000001';
const BOB = '905557000002';
const HTTP_CREDENTIALS = { user: 'web', password: 'h77p-pass' };
const SOCKS_CREDENTIALS = { user: 'shop', password: 's3cret' };
let sim: Simulator;
let gw: Gateway;
let http: TestProxy;
let socks: TestProxy;
/** An https:// proxy: TLS to the proxy itself, with a CA of its own that the gateway trusts (WA_CA_FILE). */
let tlsProxy: TestProxy;

const png = (shade: number) => solidPng(8, shade);

before(async () => {
  sim = await Simulator.start();
  const proxyTls = makeCertificates('127.0.0.1');
  const ca = join(mkdtempSync(join(tmpdir(), 'sim-ca-')), 'ca.pem');
  writeFileSync(ca, `${sim.media.caPem.trim()}\n${proxyTls.caPem.trim()}\n`);
  tlsProxy = await startHttpProxy(undefined, { key: proxyTls.keyPem, cert: proxyTls.certPem });
  sim.addUser(OWNER, 'Owner');
  sim.addUser(BOB, 'Bob');
  http = await startHttpProxy(HTTP_CREDENTIALS);
  socks = await startSocksProxy(SOCKS_CREDENTIALS);
  gw = await startGateway({
    name: 'proxy',
    workers: 1,
    workerEntry: 'worker/main.ts',
    env: { ...simulatorEnv(sim), WA_CA_FILE: ca },
  });
  assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id: 'shop' } })).status < 300, true);
  await enableWebhook(gw, 'shop');
});
after(async () => {
  await gw?.stop();
  await sim?.stop();
  await http?.stop();
  await socks?.stop();
  await tlsProxy?.stop();
});

const simTarget = () => `127.0.0.1:${sim.port}`;
const setProxy = async (proxyUrl: string) => {
  const res = await gw.request('/api/instance/shop/settings', { method: 'POST', json: { proxyUrl } });
  assert.equal(res.status, 200, await res.text());
};
const shownProxy = async () => ((await (await gw.request('/api/instance/shop/settings')).json()) as { proxyUrl: string }).proxyUrl;
const accountStatus = async () =>
  ((await (await gw.request('/api/instance/shop/status')).json()) as { accountStatus: { status: string; lastError?: string } })
    .accountStatus;
const status = async () => (await accountStatus()).status;
/** Source ports of connections to the simulator (websocket and media host) that no proxy made. */
const direct = (from: { ws: number; media: number }) => {
  const proxied = new Set([...http.outboundPorts, ...socks.outboundPorts, ...tlsProxy.outboundPorts]);
  return [...sim.clientPorts.slice(from.ws), ...sim.media.clientPorts.slice(from.media)].filter((port) => !proxied.has(port));
};
const mark = () => ({ ws: sim.clientPorts.length, media: sim.media.clientPorts.length });

async function sendText(body: string) {
  const res = await gw.request('/api/instance/shop/messages/chat', { method: 'POST', json: { to: BOB, body } });
  const json = (await res.json()) as { id: string };
  assert.equal(res.status, 200, JSON.stringify(json));
  return eventually(async () => sim.received.find((m) => m.id === json.id && m.to === BOB && !m.ownCopy), 30_000, `text ${body}`);
}

async function sendImage(bytes: Buffer) {
  const res = await gw.request('/api/instance/shop/messages/image', {
    method: 'POST',
    json: { to: BOB, image: `data:image/png;base64,${bytes.toString('base64')}`, caption: 'proxy' },
  });
  const json = (await res.json()) as { id: string };
  // 202: accepted, still on its way (the upload takes a moment through a proxy).
  assert.ok(res.status === 200 || res.status === 202, JSON.stringify(json));
  const got = await eventually(async () => sim.received.find((m) => m.id === json.id && m.to === BOB && !m.ownCopy), 30_000, 'image');
  assert.ok(got.media, got.mediaError);
  assert.deepEqual(got.media.bytes, bytes, 'the uploaded image reached the recipient byte for byte');
}

/** Bob sends an image; the gateway downloads it (through the instance's proxy) into its media storage. */
async function receiveImage(bytes: Buffer) {
  const { id } = await sim.sendMedia(BOB, OWNER, { kind: 'image', bytes, mimetype: 'image/png', caption: 'gelen' });
  const event = await eventually(
    async () =>
      (await gw.db('webhook_events').where({ instance_id: 'shop', event: 'message_received' }).whereRaw("data->>'id' = ?", [id]))[0],
    30_000,
    `message_received ${id}`,
  );
  assert.ok(event.data.media, `the incoming image was downloaded: ${JSON.stringify(event.data)}`);
  const file = await fetch(`${gw.baseUrl}${new URL(event.data.media).pathname}`);
  assert.equal(file.status, 200);
  assert.ok(Buffer.from(await file.arrayBuffer()).equals(bytes), 'the stored file is the image Bob sent');
}

test('bad proxy URLs are refused with 400 and a clear error; nothing is stored', async () => {
  for (const [proxyUrl, why] of [
    ['ftp://proxy.example.com:21', /http:\/\/, https:\/\/, socks5:\/\//],
    ['socks4://proxy.example.com:1080', /socks5/],
    ['not a url', /must be a URL/],
    ['http://proxy.example.com:3128/some/path', /no path/],
    ['http://:secret@proxy.example.com:3128', /password without a user/],
  ] as const) {
    const res = await gw.request('/api/instance/shop/settings', { method: 'POST', json: { proxyUrl } });
    assert.equal(res.status, 400, proxyUrl);
    const body = (await res.json()) as { error: string };
    assert.match(body.error, /proxyUrl/, proxyUrl);
    assert.match(body.error, why, `${proxyUrl}: ${body.error}`);
  }
  const res = await gw.request('/api/instance/shop/settings', { method: 'PUT', json: { proxyUrl: 42 } });
  assert.equal(res.status, 400);
  assert.equal(await shownProxy(), '');

  // Accepted, and shown with the user but never the password (escapes kept as given).
  await setProxy('socks5h://us%40er:p%3Ass@proxy.example.com:1080');
  assert.equal(await shownProxy(), 'socks5h://us%40er:****@proxy.example.com:1080');
  await setProxy('https://proxy.example.com:8443');
  assert.equal(await shownProxy(), 'https://proxy.example.com:8443');
  await setProxy('');
  assert.equal(await shownProxy(), '');
});

test('through an HTTP proxy with credentials: the session pairs, sends a text and an image, and downloads an incoming image', async (t) => {
  await setProxy(http.url);
  assert.equal(await shownProxy(), `http://web:****@127.0.0.1:${http.port}`, 'the password is never shown');
  const from = mark();
  await gw.request('/api/instance/shop/connect', { method: 'POST' });
  const qr = await eventually(
    async () => ((await (await gw.request('/api/instance/shop/qr')).json()) as { qrCode: string | null }).qrCode,
    30_000,
    'QR',
  );
  assert.ok(http.tunnelsTo(simTarget()) >= 1, 'the websocket went through the HTTP proxy');
  assert.ok(await sim.scanQr(OWNER, qr));
  await eventually(async () => (await status()) === 'open', 30_000, 'open');

  await sendText('proxy üzerinden merhaba');
  await sendImage(png(40));
  assert.ok(http.tunnelsTo(sim.media.hostname) >= 1, 'the upload went through the HTTP proxy');
  const uploads = http.tunnelsTo(sim.media.hostname);
  await receiveImage(png(120));
  assert.ok(http.tunnelsTo(sim.media.hostname) > uploads, 'the download went through the HTTP proxy (a tunnel of its own)');
  assert.ok(http.bytes.up > 1_000 && http.bytes.down > 1_000, `bytes passed through the proxy: ${JSON.stringify(http.bytes)}`);
  assert.ok(sim.media.clientPorts.length > from.media, 'the media host was reached');
  assert.deepEqual(direct(from), [], 'no connection to WhatsApp went around the proxy');
  assert.equal(http.refused, 0);
  t.diagnostic(`HTTP proxy: tunnels ${JSON.stringify(Object.fromEntries(http.tunnels))}, bytes ${JSON.stringify(http.bytes)}`);
});

test('SOCKS5 with a wrong password: the session does not open, the log says why, and nothing goes direct', async () => {
  const from = mark();
  const wrong = socks.url.replace(`:${SOCKS_CREDENTIALS.password}@`, ':wrong@');
  await setProxy(wrong);
  assert.equal(await shownProxy(), `socks5://shop:****@127.0.0.1:${socks.port}`);
  await eventually(async () => socks.refused >= 1, 30_000, 'the SOCKS proxy refusing the wrong password');
  await eventually(async () => (await status()) === 'connecting', 20_000, 'the status leaving open');
  await eventually(async () => socks.refused >= 2, 30_000, 'a retry (with backoff)');
  assert.equal(await status(), 'connecting', 'the session is not open');
  assert.match((await accountStatus()).lastError ?? '', /Socks5 Authentication failed/, 'GET .../status says why');
  const log = gw.workers[0]!.output();
  assert.match(log, /the proxy setting changed; reconnecting/);
  assert.match(log, /connection closed[^\n]*Socks5 Authentication failed|Socks5 Authentication failed[^\n]*connection closed/);
  assert.equal(socks.tunnelsTo(simTarget()), 0);
  assert.deepEqual(direct(from), [], 'nothing went direct meanwhile');
});

test('fixing the SOCKS5 password reconnects at once through it, and media goes through it too', async (t) => {
  const from = mark();
  const httpTunnels = http.tunnelsTo(simTarget());
  await setProxy(socks.url);
  await eventually(async () => socks.tunnelsTo(simTarget()) >= 1 && (await status()) === 'open', 30_000, 'open through SOCKS5');
  assert.equal((await accountStatus()).lastError, undefined, 'no error shown once open');
  await sendText('socks üzerinden');
  await sendImage(png(200));
  await receiveImage(png(230));
  assert.ok(socks.tunnelsTo(sim.media.hostname) >= 1, 'the media host was reached through the SOCKS5 proxy');
  assert.equal(http.tunnelsTo(simTarget()), httpTunnels, 'the old proxy is no longer used');
  assert.deepEqual(direct(from), []);
  t.diagnostic(`SOCKS5 proxy: tunnels ${JSON.stringify(Object.fromEntries(socks.tunnels))}, bytes ${JSON.stringify(socks.bytes)}`);
});

test('an HTTP proxy refusing the credentials (407): not opened, the log says so, nothing goes direct', async () => {
  const from = mark();
  const refused = http.refused;
  await setProxy(http.url.replace(`:${HTTP_CREDENTIALS.password}@`, ':nope@'));
  await eventually(async () => http.refused > refused && (await status()) === 'connecting', 30_000, 'the proxy refusing');
  await eventually(
    async () => /the proxy refused the connection \(HTTP 407\)/.test(gw.workers[0]!.output()),
    10_000,
    'the reason in the log',
  );
  assert.equal(await status(), 'connecting');
  await eventually(
    async () => /the proxy refused the connection \(HTTP 407\)/.test((await accountStatus()).lastError ?? ''),
    10_000,
    'lastError',
  );
  assert.deepEqual(direct(from), [], 'nothing went direct meanwhile');
});

test('a proxy that does not answer: the session stays closed and GET .../status says why', async () => {
  const from = mark();
  const closed = await startHttpProxy();
  const url = closed.url;
  await closed.stop();
  await setProxy(url);
  await eventually(async () => /ECONNREFUSED/.test((await accountStatus()).lastError ?? ''), 20_000, 'ECONNREFUSED in lastError');
  assert.equal(await status(), 'connecting');
  assert.deepEqual(direct(from), [], 'nothing went direct meanwhile');
});

test('"" removes the proxy: the session reconnects directly', async () => {
  const from = mark();
  const socksTunnels = socks.tunnelsTo(simTarget());
  await setProxy('');
  assert.equal(await shownProxy(), '');
  await eventually(async () => direct(from).length >= 1 && (await status()) === 'open', 30_000, 'a direct connection');
  await sendText('doğrudan');
  assert.equal(socks.tunnelsTo(simTarget()), socksTunnels, 'the SOCKS5 proxy is no longer used');
});

test('an https:// proxy (TLS to the proxy, its CA trusted): the session reconnects through it and media goes through it', async () => {
  const from = mark();
  await setProxy(tlsProxy.url);
  assert.equal(await shownProxy(), `https://127.0.0.1:${tlsProxy.port}`);
  await eventually(async () => tlsProxy.tunnelsTo(simTarget()) >= 1 && (await status()) === 'open', 30_000, 'open through the https proxy');
  await sendText('tls proxy');
  await sendImage(png(15));
  await receiveImage(png(77));
  assert.ok(tlsProxy.tunnelsTo(sim.media.hostname) >= 2, 'upload and download went through the https proxy');
  assert.deepEqual(direct(from), []);
});
