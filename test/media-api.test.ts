// Media endpoints over HTTP: upload, list, delete and the public file URLs, and that no request
// reaches outside its own instance's files.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PNG } from 'pngjs';
import { startGateway, type Gateway } from './support/gateway.js';

const PUBLIC_URL = 'https://wa.example.test';
const MAX_MEDIA_BYTES = 4096;
const dataDir = mkdtempSync(join(tmpdir(), 'media-api-'));
const SECRET = 'top secret: not a media file';
const secrets = [join(dataDir, 'secret.txt'), join(dataDir, 'media', 'secret.txt')];

let gw: Gateway;
before(async () => {
  gw = await startGateway({
    name: 'media_api',
    workers: 0,
    env: { DATA_DIR: dataDir, PUBLIC_URL, MAX_MEDIA_BYTES: String(MAX_MEDIA_BYTES) },
  });
  for (const id of ['alpha', 'beta']) assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id } })).status, 200);
  mkdirSync(join(dataDir, 'media'), { recursive: true });
  for (const path of secrets) writeFileSync(path, SECRET);
});
after(async () => {
  await gw?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const pngBytes = (width: number) => PNG.sync.write(new PNG({ width, height: 1 }));
const PNG_BYTES = pngBytes(2);

interface Uploaded {
  filename: string;
  originalname: string;
  mimetype: string;
  size: number;
  url: string;
}

async function upload(instance: string, bytes: Buffer, name: string, type: string, field = 'file') {
  const form = new FormData();
  form.append(field, new Blob([new Uint8Array(bytes)], { type }), name);
  const res = await gw.request(`/api/instance/${instance}/media/upload`, { method: 'POST', body: form });
  return { status: res.status, body: (await res.json()) as any };
}
async function uploaded(instance: string, bytes: Buffer, name = 'photo.png', type = 'image/png'): Promise<Uploaded> {
  const { status, body } = await upload(instance, bytes, name, type);
  assert.equal(status, 200, JSON.stringify(body));
  return body.file;
}
/** The file's public URL on this gateway (PUBLIC_URL points elsewhere). */
const local = (url: string) => `${gw.baseUrl}${new URL(url).pathname}`;
const filesOnDisk = (instance: string) =>
  existsSync(join(dataDir, 'media', instance)) ? readdirSync(join(dataDir, 'media', instance)) : [];

/** A GET with the path sent exactly as written (fetch would normalise `..` and `%2e%2e`). */
function rawRequest(method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const url = new URL(gw.baseUrl);
    const req = http.request({ host: url.hostname, port: url.port, method, path, headers }, (res) => {
      let text = '';
      res.setEncoding('latin1');
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}
const authorised = () => ({ authorization: `Bearer ${gw.token}` });

test("an upload answers the contract's shape with an unguessable name, and the same file twice gets two names", async () => {
  const { status, body } = await upload('alpha', PNG_BYTES, 'photo.png', 'image/png');
  assert.equal(status, 200);
  assert.equal(body.success, true);
  const file = body.file as Uploaded;
  assert.deepEqual(Object.keys(file).sort(), ['filename', 'mimetype', 'originalname', 'size', 'url']);
  assert.equal(file.originalname, 'photo.png');
  assert.equal(file.mimetype, 'image/png');
  assert.equal(file.size, PNG_BYTES.length);
  assert.equal(file.url, `${PUBLIC_URL}/media/alpha/${file.filename}`);

  const [, random] = file.filename.match(/^\d{10,16}-([0-9a-f]+)\.png$/) ?? [];
  assert.ok(random, `filename ${file.filename} is "<time>-<random hex>.png"`);
  assert.ok(random.length * 4 >= 64, `at least 64 random bits (${random.length * 4})`);

  const again = await uploaded('alpha', PNG_BYTES);
  assert.notEqual(again.filename, file.filename);
  assert.notEqual(again.filename.split('-')[1], file.filename.split('-')[1], 'the random parts differ');
  assert.deepEqual(readFileSync(join(dataDir, 'media', 'alpha', again.filename)), PNG_BYTES);
});

test('the stored mimetype comes from the bytes, not from the name or the claimed type', async () => {
  const disguised = await uploaded('alpha', PNG_BYTES, 'x.txt', 'text/plain');
  assert.equal(disguised.mimetype, 'image/png');
  assert.match(disguised.filename, /\.png$/);
  assert.equal(disguised.originalname, 'x.txt');
  const served = await fetch(local(disguised.url));
  assert.equal(served.headers.get('content-type'), 'image/png');

  const unknown = await uploaded('alpha', Buffer.from([0x13, 0x37, 0x00, 0xff, 0x42, 0x42]), 'cat.jpg', 'image/jpeg');
  assert.equal(unknown.mimetype, 'application/octet-stream', 'bytes that are no JPEG are not stored as one');

  const text = await uploaded('alpha', Buffer.from('merhaba dünya\n'), 'notes.txt', 'text/plain');
  assert.equal(text.mimetype, 'text/plain');
  assert.match(text.filename, /\.txt$/);
});

test('a file over MAX_MEDIA_BYTES is a 413 and nothing is stored', async () => {
  const before = filesOnDisk('beta');
  const { status, body } = await upload('beta', Buffer.alloc(MAX_MEDIA_BYTES + 1, 1), 'big.bin', 'application/octet-stream');
  assert.equal(status, 413);
  assert.deepEqual(body, { error: `file is larger than ${MAX_MEDIA_BYTES} bytes`, code: 'PAYLOAD_TOO_LARGE' });
  assert.deepEqual(filesOnDisk('beta'), before);
  assert.deepEqual(await (await gw.request('/api/instance/beta/media/list')).json(), []);
  // Exactly at the limit is fine.
  assert.equal((await upload('beta', Buffer.alloc(MAX_MEDIA_BYTES, 1), 'edge.bin', 'application/octet-stream')).status, 200);
  await gw.request('/api/instance/beta/media/delete', { method: 'POST', json: { filename: filesOnDisk('beta')[0] } });
});

test('an upload without a "file" field is a 400 naming it', async () => {
  const wrongField = await upload('alpha', PNG_BYTES, 'photo.png', 'image/png', 'image');
  assert.equal(wrongField.status, 400);
  assert.match(wrongField.body.error, /"file"/);

  const noFile = new FormData();
  noFile.append('caption', 'no file here');
  const empty = await gw.request('/api/instance/alpha/media/upload', { method: 'POST', body: noFile });
  assert.equal(empty.status, 400);
  assert.match(((await empty.json()) as { error: string }).error, /^file is required/);

  const json = await gw.request('/api/instance/alpha/media/upload', { method: 'POST', json: { file: 'data:image/png;base64,AAAA' } });
  assert.equal(json.status, 400);
  assert.match(((await json.json()) as { error: string }).error, /^file is required/);

  const unknown = await upload('nope', PNG_BYTES, 'photo.png', 'image/png');
  assert.equal(unknown.status, 404);
});

test('a stored file is served without a token with its stored type; unknown names are 404', async () => {
  const file = await uploaded('alpha', PNG_BYTES);
  const res = await fetch(local(file.url));
  assert.equal(res.status, 200);
  assert.equal(res.headers.get('content-type'), 'image/png');
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  assert.deepEqual(Buffer.from(await res.arrayBuffer()), PNG_BYTES);

  const unknownName = file.filename.replace(/-[0-9a-f]{32}/, `-${'0'.repeat(32)}`);
  const missing = await fetch(`${gw.baseUrl}/media/alpha/${unknownName}`);
  assert.equal(missing.status, 404);
  assert.equal(((await missing.json()) as { code: string }).code, 'MEDIA_NOT_FOUND');
  assert.equal((await fetch(`${gw.baseUrl}/media/nope/${file.filename}`)).status, 404);
  // A name that could not be a stored file's is no file either: 404, not 400.
  for (const path of ['/media/alpha/logo.png', '/media/alpha/..%2F..%2Fetc%2Fpasswd', '/media/no%20such%20instance/logo.png']) {
    const res = await fetch(`${gw.baseUrl}${path}`);
    assert.equal(res.status, 404, path);
    assert.equal(((await res.json()) as { code: string }).code, 'MEDIA_NOT_FOUND', path);
  }
  assert.equal((await fetch(`${gw.baseUrl}/media/beta/${file.filename}`)).status, 404, "another instance's path does not serve it");
});

test("the list shows this instance's files, newest first, as { filename, size, url, created }", async () => {
  const older = await uploaded('beta', pngBytes(3), 'a.png');
  const newer = await uploaded('beta', pngBytes(4), 'b.png');
  const res = await gw.request('/api/instance/beta/media/list');
  assert.equal(res.status, 200);
  const files = (await res.json()) as Array<Record<string, unknown>>;
  assert.deepEqual(
    files.map((f) => Object.keys(f).sort()),
    files.map(() => ['created', 'filename', 'size', 'url']),
  );
  assert.deepEqual(
    files.map((f) => ({ filename: f.filename, size: f.size, url: f.url })),
    [newer, older].map((f) => ({ filename: f.filename, size: f.size, url: f.url })),
  );
  for (const f of files) {
    assert.match(String(f.created), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.ok(Math.abs(Date.parse(String(f.created)) - Date.now()) < 60_000);
  }
  const alpha = (await (await gw.request('/api/instance/alpha/media/list')).json()) as Array<{ filename: string }>;
  assert.ok(!alpha.some((f) => f.filename === older.filename || f.filename === newer.filename), "alpha does not list beta's files");
});

test("no path on GET /media/... reads outside the instance's own files", async () => {
  const own = await uploaded('alpha', PNG_BYTES);
  const theirs = await uploaded('beta', pngBytes(5));
  const attempts = [
    `/media/alpha/..%2F..%2Fsecret.txt`,
    `/media/alpha/..%2Fsecret.txt`,
    `/media/alpha/%2e%2e%2f%2e%2e%2fsecret.txt`,
    `/media/alpha/%2e%2e/secret.txt`,
    `/media/alpha/../secret.txt`,
    `/media/alpha/../../secret.txt`,
    `/media/..%2Fsecret.txt`,
    `/media/alpha/..%2Fbeta%2F${theirs.filename}`,
    `/media/alpha/..%5Cbeta%5C${theirs.filename}`,
    `/media/alpha/../beta/${theirs.filename}`,
    `/media/alpha/${theirs.filename}`,
    `/media/..%2Fmedia%2Fbeta/${theirs.filename}`,
    `/media/alpha/%2Fetc%2Fpasswd`,
    `/media/alpha/${encodeURIComponent(secrets[0]!)}`,
    `/media/alpha/secret.txt`,
    `/media/${encodeURIComponent(join(dataDir, 'media', 'beta'))}/${theirs.filename}`,
    `/media/alpha/${own.filename}%00.txt`,
    `/media/alpha/${own.filename}%2F..%2F${theirs.filename}`,
    `/media/%2e%2e/secret.txt`,
  ];
  for (const path of attempts) {
    const { status, body } = await rawRequest('GET', path);
    assert.ok(status === 400 || status === 404, `${path}: ${status}`);
    assert.ok(!body.includes(SECRET) && !body.includes('PNG'), `${path} served nothing`);
  }
  // Both files are still served from their own paths.
  assert.equal((await fetch(local(own.url))).status, 200);
  assert.equal((await fetch(local(theirs.url))).status, 200);
});

test("delete removes only this instance's own files, whatever name it is given", async () => {
  const own = await uploaded('alpha', PNG_BYTES);
  const theirs = await uploaded('beta', pngBytes(6));
  const names = [
    theirs.filename,
    `../beta/${theirs.filename}`,
    `..%2Fbeta%2F${theirs.filename}`,
    `..\\beta\\${theirs.filename}`,
    `../../secret.txt`,
    `../secret.txt`,
    'secret.txt',
    secrets[0]!,
    join(dataDir, 'media', 'beta', theirs.filename),
    `${own.filename}/../${theirs.filename}`,
    '.',
    '..',
    '',
  ];
  for (const filename of names) {
    const viaQuery = await rawRequest('DELETE', `/api/instance/alpha/media/delete?filename=${encodeURIComponent(filename)}`, authorised());
    const viaBody = await rawRequest(
      'POST',
      '/api/instance/alpha/media/delete',
      { ...authorised(), 'content-type': 'application/json' },
      JSON.stringify({ filename }),
    );
    for (const [how, res] of [
      ['query', viaQuery],
      ['body', viaBody],
    ] as const) {
      assert.ok(res.status === 400 || res.status === 404, `${how} ${JSON.stringify(filename)}: ${res.status} ${res.body}`);
    }
  }
  // Names passed raw, undecoded, in the query string.
  for (const query of [
    `filename=..%2F..%2Fsecret.txt`,
    `filename=%2e%2e%2fbeta%2f${theirs.filename}`,
    `filename=${theirs.filename}&filename=${own.filename}`,
  ]) {
    const res = await rawRequest('DELETE', `/api/instance/alpha/media/delete?${query}`, authorised());
    assert.ok(res.status === 400 || res.status === 404, `${query}: ${res.status}`);
  }
  const missing = await gw.request('/api/instance/alpha/media/delete', { method: 'DELETE' });
  assert.equal(missing.status, 400);
  assert.match(((await missing.json()) as { error: string }).error, /^filename/);

  for (const path of secrets) assert.equal(readFileSync(path, 'utf8'), SECRET, `${path} is untouched`);
  const stillTheirs = await fetch(local(theirs.url));
  assert.equal(stillTheirs.status, 200);
  assert.deepEqual(Buffer.from(await stillTheirs.arrayBuffer()), pngBytes(6));
  assert.equal((await fetch(local(own.url))).status, 200);

  // Its own file it can delete, by query or by body, once.
  const byQuery = await gw.request(`/api/instance/alpha/media/delete?filename=${own.filename}`, { method: 'DELETE' });
  assert.deepEqual(await byQuery.json(), { success: true, deleted: own.filename });
  assert.equal((await fetch(local(own.url))).status, 404);
  assert.ok(!filesOnDisk('alpha').includes(own.filename), 'the file is gone from disk');
  const again = await gw.request(`/api/instance/alpha/media/delete?filename=${own.filename}`, { method: 'DELETE' });
  assert.equal(again.status, 404);

  const byBody = await gw.request('/api/instance/beta/media/delete', { method: 'POST', json: { filename: theirs.filename } });
  assert.deepEqual(await byBody.json(), { success: true, deleted: theirs.filename });
  assert.equal((await fetch(local(theirs.url))).status, 404);
});

test("a send may use its own instance's uploaded url, not another instance's", async () => {
  const own = await uploaded('alpha', PNG_BYTES);
  const theirs = await uploaded('beta', pngBytes(7));
  const send = (image: string) => gw.request('/api/instance/alpha/messages/image', { method: 'POST', json: { to: '905551234567', image } });

  const accepted = await send(own.url);
  assert.equal(accepted.status, 202);
  const { id } = (await accepted.json()) as { id: string };
  const row = await gw.db('messages').where({ instance_id: 'alpha', id }).first();
  assert.deepEqual(row.content.media, { stored: own.filename }, 'resolved from storage, not downloaded again');

  for (const url of [
    theirs.url,
    `${PUBLIC_URL}/media/alpha/${theirs.filename}`,
    `${PUBLIC_URL}/media/alpha/..%2Fbeta%2F${theirs.filename}`,
  ]) {
    const refused = await send(url);
    assert.equal(refused.status, 400, url);
    assert.match(((await refused.json()) as { error: string }).error, /^image: no uploaded file of this instance/);
  }
});
