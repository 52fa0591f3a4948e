// Media storage: the same contract on local disk and on an S3-compatible bucket (s3rver, a real S3
// server from npm, on a free port), and the API on S3: uploads, the public URL, deletion, an
// instance's files going with it, and a bucket that stops answering giving 503s, not hangs.
import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { createDb, migrate, type Db } from '../db/knex.js';
import { loadConfig, ConfigError } from '../config/index.js';
import { createMediaStore, FILENAME_PATTERN, type MediaStore } from '../media/store.js';
import { createDatabase } from './support/infra.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { scanQr } from './support/fakePhone.js';
import { startS3, type S3Server } from './support/s3.js';
import { freePort } from '../stack/ports.js';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const PDF = Buffer.from('%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n');

let db: Db;
let s3: S3Server;
const dataDir = mkdtempSync(join(tmpdir(), 'wa-media-'));
before(async () => {
  db = createDb(await createDatabase('media_store'), { queryTimeoutMs: 0 });
  await migrate(db);
  for (const id of ['a', 'b']) await db('instances').insert({ id });
  s3 = await startS3();
});
after(async () => {
  await db?.destroy();
  await s3?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const configOf = (env: Record<string, string>) => loadConfig({ DATA_DIR: dataDir, PUBLIC_URL: 'https://gw.example.com', ...env });
/** The keys under `prefix` in a server's bucket, as S3 lists them. */
const objectKeys = async (prefix = '', server = s3) => {
  const client = new S3Client({
    region: 'us-east-1',
    endpoint: server.endpoint,
    forcePathStyle: true,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
  const listed = await client.send(new ListObjectsV2Command({ Bucket: server.bucket, Prefix: prefix }));
  client.destroy();
  return (listed.Contents ?? []).map((o) => o.Key!).sort();
};

for (const kind of ['local', 's3'] as const) {
  describe(`the ${kind} media store`, () => {
    let media: MediaStore;
    before(async () => {
      await db('media').delete();
      media = await createMediaStore(configOf(kind === 's3' ? { ...s3.env, S3_PREFIX: 'gw/' } : {}), db);
    });

    test('keeps the bytes and the mimetype sniffed from them, under a generated name', async () => {
      const stored = await media.save('a', PNG, { originalName: 'photo.jpg', mimetype: 'application/octet-stream' });
      assert.match(stored.filename, FILENAME_PATTERN);
      assert.match(stored.filename, /\.png$/);
      assert.equal(stored.mimetype, 'image/png');
      assert.equal(stored.originalname, 'photo.jpg');
      assert.equal(stored.size, PNG.length);
      const read = await media.read('a', stored.filename);
      assert.deepEqual(read, { bytes: PNG, mimetype: 'image/png' });
      assert.equal(media.url('a', stored.filename), `https://gw.example.com/media/a/${stored.filename}`);
      if (kind === 's3') assert.ok((await objectKeys('gw/a/')).includes(`gw/a/${stored.filename}`));
    });

    test('lists newest first, per instance', async () => {
      const first = await media.save('a', PDF, { originalName: 'one.pdf' });
      await new Promise((r) => setTimeout(r, 5));
      const second = await media.save('a', PDF, { originalName: 'two.pdf' });
      const other = await media.save('b', PDF, { originalName: 'other.pdf' });
      const listed = (await media.list('a')).map((f) => f.filename);
      assert.deepEqual(listed.slice(0, 2), [second.filename, first.filename]);
      assert.ok(!listed.includes(other.filename));
      assert.equal(await media.read('a', other.filename), undefined, "another instance's file is not read through this one");
    });

    test('removes one file; unknown and traversing names are neither read nor removed', async () => {
      const stored = await media.save('a', PDF, { originalName: 'gone.pdf' });
      assert.equal(await media.remove('a', stored.filename), true);
      assert.equal(await media.read('a', stored.filename), undefined);
      assert.equal(await media.remove('a', stored.filename), false);
      assert.equal(await media.read('a', '1764669600000-00000000000000000000000000000000.pdf'), undefined);
      for (const name of ['../b/x.pdf', '..%2Fb', '/etc/passwd', 'a/../../x']) {
        assert.equal(await media.read('a', name), undefined, name);
        assert.equal(await media.remove('a', name), false, name);
      }
    });

    test("removes all of an instance's files, and only that instance's", async () => {
      const kept = await media.save('b', PNG, {});
      for (let i = 0; i < 3; i++) await media.save('a', PDF, {});
      const files = (await media.list('a')).map((f) => f.filename);
      await media.removeAll('a');
      await db('media').where({ instance_id: 'a' }).delete(); // as the instance's deletion does
      for (const name of files) assert.equal(await media.read('a', name), undefined);
      assert.deepEqual(await media.read('b', kept.filename), { bytes: PNG, mimetype: 'image/png' });
      if (kind === 's3') assert.deepEqual(await objectKeys('gw/a/'), []);
    });
  });
}

test('MEDIA_STORE=s3 needs S3_BUCKET, and an unknown store is refused', () => {
  assert.throws(
    () => loadConfig({ MEDIA_STORE: 's3' }),
    (err) => err instanceof ConfigError && /S3_BUCKET/.test(err.message),
  );
  assert.throws(
    () => loadConfig({ MEDIA_STORE: 'ftp' }),
    (err) => err instanceof ConfigError && /MEDIA_STORE/.test(err.message),
  );
  assert.equal(loadConfig({}).MEDIA_STORE, 'local');
});

test('a bucket that does not answer makes the store fail with 503 "media storage unavailable", at once', async () => {
  const media = await createMediaStore(configOf({ ...s3.env, S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` }), db);
  const started = Date.now();
  await assert.rejects(media.save('a', PNG, {}), (err: { status?: number; message?: string }) => {
    assert.equal(err.status, 503);
    assert.match(err.message!, /^media storage unavailable: /);
    return true;
  });
  assert.ok(Date.now() - started < 10_000);
});

test('a bucket that refuses the credentials is a 503 too, for reads as well: a refused file is not a missing one', async () => {
  const stored = await (await createMediaStore(configOf(s3.env), db)).save('a', PNG, {});
  // s3rver checks the access key, not V4 signatures.
  const refused = await createMediaStore(configOf({ ...s3.env, S3_ACCESS_KEY_ID: 'NOT-A-KEY' }), db);
  const unavailable = (err: { status?: number; message?: string }) => {
    assert.equal(err.status, 503);
    assert.match(err.message!, /^media storage unavailable: \w+ \(HTTP 403\)$/);
    return true;
  };
  await assert.rejects(refused.save('a', PNG, {}), unavailable);
  await assert.rejects(refused.read('a', stored.filename), unavailable);
});

test('a bucket that accepts the connection and then says nothing fails with 503 after 5 s of silence, not never', async () => {
  const connections: Socket[] = [];
  const silent = createServer((socket) => connections.push(socket));
  silent.listen(0, '127.0.0.1');
  await once(silent, 'listening');
  const endpoint = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
  try {
    const media = await createMediaStore(configOf({ ...s3.env, S3_ENDPOINT: endpoint }), db);
    const started = Date.now();
    await assert.rejects(media.save('a', PNG, {}), (err: { status?: number; message?: string }) => {
      assert.equal(err.status, 503);
      assert.match(err.message!, /^media storage unavailable: /);
      return true;
    });
    // Two attempts of 5 s each.
    assert.ok(Date.now() - started < 15_000, `${Date.now() - started} ms`);
  } finally {
    for (const socket of connections) socket.destroy();
    silent.close();
  }
});

describe('the API on S3', () => {
  let gw: Gateway;
  let bucket: S3Server;
  before(async () => {
    bucket = await startS3('gateway-media');
    gw = await startGateway({
      name: 'media_s3',
      workers: 1,
      env: { ...bucket.env, PUBLIC_URL: 'https://gw.example.com', FAKE_ACCEPT_SENDS: '1' },
    });
    assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id: 'shop' } })).status, 200);
  });
  after(async () => {
    await gw?.stop();
    await bucket?.stop();
  });

  const upload = async (bytes: Buffer, name: string, instance = 'shop') => {
    const form = new FormData();
    form.set('file', new Blob([new Uint8Array(bytes)]), name);
    const res = await gw.request(`/api/instance/${instance}/media/upload`, { method: 'POST', body: form });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };

  test('an upload lands in the bucket and is served at its public URL; deleting the instance empties its folder', async () => {
    const { status, body } = await upload(PNG, 'photo.png');
    assert.equal(status, 200, JSON.stringify(body));
    const { filename, url } = body.file;
    assert.equal(url, `https://gw.example.com/media/shop/${filename}`);
    const served = await fetch(`${gw.baseUrl}/media/shop/${filename}`);
    assert.equal(served.status, 200);
    assert.equal(served.headers.get('content-type'), 'image/png');
    assert.deepEqual(Buffer.from(await served.arrayBuffer()), PNG);
    const listed = (await (await gw.request('/api/instance/shop/media/list')).json()) as { filename: string }[];
    assert.deepEqual(
      listed.map((f) => f.filename),
      [filename],
    );

    // A send can use it: the worker reads the file from the bucket to send it.
    assert.equal((await gw.request('/api/instance/shop/connect', { method: 'POST' })).status, 200);
    await eventually(
      async () => ((await (await gw.request('/api/instance/shop/qr')).json()) as { qrCode?: string }).qrCode,
      20_000,
      'a QR',
    );
    await scanQr(gw.db, 'shop');
    const sent = (await (
      await gw.request('/api/instance/shop/messages/image', { method: 'POST', json: { to: '905551234567', image: url } })
    ).json()) as { id: string };
    const row = await eventually(
      async () => {
        const message = await gw.db('messages').where({ instance_id: 'shop', id: sent.id }).first();
        return message && message.status !== 'pending' && message;
      },
      20_000,
      'the image sent',
    );
    assert.equal(row.status, 'sent', row.error);

    const second = await upload(PDF, 'doc.pdf');
    const removed = await gw.request(`/api/instance/shop/media/delete?filename=${second.body.file.filename}`, { method: 'DELETE' });
    assert.equal(removed.status, 200);
    assert.equal((await fetch(`${gw.baseUrl}/media/shop/${second.body.file.filename}`)).status, 404);

    assert.equal((await gw.request('/api/instance/shop', { method: 'DELETE' })).status, 200);
    assert.deepEqual(await objectKeys('shop/', bucket), []);
  });

  test('with the bucket gone, uploads and downloads answer 503 saying so, and the API keeps serving', async () => {
    assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id: 'shop2' } })).status, 200);
    const { status, body } = await upload(PNG, 'photo.png', 'shop2');
    assert.equal(status, 200, JSON.stringify(body));
    const filename = body.file.filename as string;
    await bucket.stop();
    const started = Date.now();
    const refused = await upload(PNG, 'photo.png', 'shop2');
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.match(refused.body.error, /^media storage unavailable: /);
    assert.equal(refused.body.code, 'MEDIA_STORAGE_UNAVAILABLE');
    const download = await fetch(`${gw.baseUrl}/media/shop2/${filename}`);
    assert.equal(download.status, 503);
    assert.ok(Date.now() - started < 15_000, `${Date.now() - started} ms`);
    assert.equal((await gw.request('/api/instance/shop2/status')).status, 200);

    // Deleting the instance needs its files gone: a 503 leaves it in place, to delete once the bucket is back.
    const refusedDelete = await gw.request('/api/instance/shop2', { method: 'DELETE' });
    assert.equal(refusedDelete.status, 503);
    assert.match(((await refusedDelete.json()) as { error: string }).error, /^media storage unavailable: /);
    assert.equal((await gw.request('/api/instance/shop2/status')).status, 200);
    bucket = await startS3(bucket.bucket, Number(new URL(bucket.endpoint).port));
    assert.equal((await gw.request('/api/instance/shop2', { method: 'DELETE' })).status, 200);
    assert.equal((await gw.request('/api/instance/shop2/status')).status, 404);
  });
});
