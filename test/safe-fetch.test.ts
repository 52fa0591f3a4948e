// media/safeFetch.ts against local HTTP servers: what it refuses to reach, and how it bounds what it downloads.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { once } from 'node:events';
import type { AddressInfo, Socket } from 'node:net';
import type { LookupAddress } from 'node:dns';
import { FetchRefused, isPrivateAddress, safeFetch, type FetchOptions, type Lookup } from '../media/safeFetch.js';

/** A local server that counts the requests it got; `handle` answers them. */
interface Server {
  url: string;
  port: number;
  hits: string[];
  close(): Promise<void>;
}
const servers: Server[] = [];
async function serve(handle: http.RequestListener, host = '127.0.0.1'): Promise<Server> {
  const hits: string[] = [];
  const sockets = new Set<Socket>();
  const server = http.createServer((req, res) => {
    hits.push(req.url ?? '');
    handle(req, res);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, host);
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const started: Server = {
    url: `http://${host}:${port}`,
    port,
    hits,
    close: () => {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
  servers.push(started);
  return started;
}
after(() => Promise.all(servers.map((s) => s.close())));

const PNG = Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex');
const servesPng: http.RequestListener = (_req, res) => {
  res.writeHead(200, { 'content-type': 'image/png', 'content-length': PNG.length });
  res.end(PNG);
};

/** A resolver with a fixed table, standing in for DNS. */
const fakeDns =
  (table: Record<string, string>): Lookup =>
  (hostname, _options, callback) => {
    const address = table[hostname];
    if (!address) return callback(Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' }), []);
    callback(null, [{ address, family: address.includes(':') ? 6 : 4 } satisfies LookupAddress]);
  };

/**
 * The test servers listen on 127.0.0.1; to reach one with the private-address
 * check switched on, that single address counts as public here. Every other
 * address (127.0.0.2, ::1, 10/8, ...) is judged by the real rules.
 */
const only127001IsPublic = (address: string) => address !== '127.0.0.1' && isPrivateAddress(address);

const options = (extra: Partial<FetchOptions> = {}): FetchOptions => ({ maxBytes: 1024 * 1024, allowPrivate: false, ...extra });

async function refusal(promise: Promise<unknown>): Promise<FetchRefused> {
  const err = await promise.then(
    () => assert.fail('the fetch was expected to be refused'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof FetchRefused, `expected FetchRefused, got ${String(err)}`);
  return err;
}

test('isPrivateAddress: loopback, private, link-local, CGNAT, ULA, unspecified and mapped forms are private; public ones are not', () => {
  const table: Array<[string, boolean]> = [
    ['127.0.0.1', true],
    ['127.255.255.254', true],
    ['10.0.0.1', true],
    ['172.16.0.1', true],
    ['172.31.255.255', true],
    ['192.168.1.1', true],
    ['169.254.169.254', true],
    ['0.0.0.0', true],
    ['100.64.0.1', true],
    ['100.127.255.255', true],
    ['224.0.0.1', true],
    ['255.255.255.255', true],
    ['::1', true],
    // IPv4-compatible IPv6 (::/96), in dotted and hex form: the IPv4 address inside, which some stacks route to.
    ['::127.0.0.1', true],
    ['::7f00:1', true],
    ['::10.0.0.1', true],
    ['::', true],
    ['fc00::1', true],
    ['fd12:3456:789a::1', true],
    ['fe80::1', true],
    ['febf::1', true],
    ['ff02::1', true],
    ['::ffff:127.0.0.1', true],
    ['::FFFF:10.1.2.3', true],
    ['::ffff:7f00:1', true],
    ['::ffff:a9fe:a9fe', true],
    ['64:ff9b::7f00:1', true],
    ['not-an-ip', true],
    ['8.8.8.8', false],
    ['1.1.1.1', false],
    ['93.184.216.34', false],
    ['172.32.0.1', false],
    ['100.128.0.1', false],
    ['169.255.0.1', false],
    ['11.0.0.1', false],
    ['2606:4700:4700::1111', false],
    ['2001:4860:4860::8888', false],
    ['fec0::1', false],
    ['::ffff:8.8.8.8', false],
  ];
  for (const [address, expected] of table) assert.equal(isPrivateAddress(address), expected, address);
});

test('loopback, private and link-local targets (literal IPs, localhost) are refused before any connection', async () => {
  const local = await serve(servesPng);
  for (const url of [
    local.url,
    `http://localhost:${local.port}/x.png`,
    'http://10.0.0.1/x.png',
    'http://169.254.169.254/latest/meta-data/',
    'http://[::1]/x.png',
    'http://[::ffff:127.0.0.1]/x.png',
    'http://0.0.0.0/x.png',
    'http://2130706433/x.png',
    'http://100.64.0.1/x.png',
  ]) {
    const err = await refusal(safeFetch(url, options({ timeoutMs: 2_000 })));
    assert.match(err.message, /private address/, url);
  }
  assert.deepEqual(local.hits, [], 'the local server was never reached');
});

test('the same local server is reachable when private addresses are allowed', async () => {
  const local = await serve(servesPng);
  const fetched = await safeFetch(`${local.url}/x.png`, options({ allowPrivate: true }));
  assert.deepEqual(fetched.bytes, PNG);
  assert.equal(fetched.contentType, 'image/png');
  assert.equal(fetched.finalUrl, `${local.url}/x.png`);
});

test('a public-looking host name whose DNS answer is private is refused at connect time', async () => {
  const local = await serve(servesPng);
  const dns = fakeDns({ 'media.example.test': '127.0.0.1', 'v6.example.test': '::1', 'meta.example.test': '169.254.169.254' });
  for (const host of ['media.example.test', 'v6.example.test', 'meta.example.test']) {
    const err = await refusal(safeFetch(`http://${host}:${local.port}/x.png`, options({ lookup: dns, timeoutMs: 2_000 })));
    assert.match(err.message, new RegExp(`private address \\(${host.replace(/\./g, '\\.')} is `), host);
  }
  assert.deepEqual(local.hits, []);
  // The injected resolver is really used: with the check off, the name reaches the server.
  const fetched = await safeFetch(`http://media.example.test:${local.port}/x.png`, options({ lookup: dns, allowPrivate: true }));
  assert.deepEqual(fetched.bytes, PNG);
});

test('a DNS failure is a FetchRefused, not a crash', async () => {
  const err = await refusal(safeFetch('http://nowhere.example.test/x.png', options({ lookup: fakeDns({}) })));
  assert.match(err.message, /ENOTFOUND/);
});

test('name resolution is bounded: a name that does not exist fails at once for good, a resolver that does not answer fails after the bound, to be tried again', async () => {
  const missing = await refusal(safeFetch('http://nowhere.example.test/x.png', options({ lookup: fakeDns({}) })));
  assert.equal(missing.transient, false, 'retrying a name that does not exist cannot help');
  assert.match(missing.message, /nowhere\.example\.test does not resolve/);
  const silent: Lookup = () => {};
  const stuck = await refusal(safeFetch('http://slow.example.test/x.png', options({ lookup: silent, lookupTimeoutMs: 300 })));
  assert.equal(stuck.transient, true);
  assert.match(stuck.message, /resolving slow\.example\.test took longer than 300 ms/);
});

test('a redirect from an allowed host to a private address is refused, though that address answers', async () => {
  const internal = await serve(servesPng, '127.0.0.2');
  const dns = fakeDns({ 'media.example.test': '127.0.0.1', 'internal.example.test': '127.0.0.2' });
  const edge = await serve((req, res) => {
    const target: Record<string, string> = {
      '/to-literal': `${internal.url}/secret.png`,
      '/to-name': `http://internal.example.test:${internal.port}/secret.png`,
      '/to-v6': `http://[::1]:${internal.port}/secret.png`,
      '/to-public': `http://media.example.test:${(req.socket.address() as AddressInfo).port}/final.png`,
    };
    if (req.url === '/final.png') return servesPng(req, res);
    res.writeHead(302, { location: target[req.url ?? ''] ?? '/final.png' }).end();
  });
  const viaEdge = (path: string) =>
    safeFetch(`http://media.example.test:${edge.port}${path}`, options({ lookup: dns, isPrivate: only127001IsPublic, timeoutMs: 2_000 }));

  // Control: the first hop is allowed and a redirect that stays public is followed.
  const followed = await viaEdge('/to-public');
  assert.deepEqual(followed.bytes, PNG);
  assert.equal(followed.finalUrl, `http://media.example.test:${edge.port}/final.png`);

  for (const path of ['/to-literal', '/to-name', '/to-v6']) {
    const err = await refusal(viaEdge(path));
    assert.match(err.message, /private address/, path);
  }
  assert.deepEqual(internal.hits, [], 'the private server was never reached through a redirect');

  // The private server is up: with private addresses allowed the same redirect reaches it.
  const allowed = await safeFetch(`http://media.example.test:${edge.port}/to-name`, options({ lookup: dns, allowPrivate: true }));
  assert.deepEqual(allowed.bytes, PNG);
  assert.deepEqual(internal.hits, ['/secret.png']);
});

test('a redirect to a non-http scheme is refused', async () => {
  const edge = await serve((_req, res) => res.writeHead(301, { location: 'file:///etc/passwd' }).end());
  const err = await refusal(safeFetch(`${edge.url}/x`, options({ allowPrivate: true })));
  assert.match(err.message, /only http and https/);
  const ftp = await refusal(safeFetch('ftp://example.com/x.png', options()));
  assert.match(ftp.message, /only http and https/);
});

test('at most maxRedirects redirects are followed', async () => {
  // /hop/N redirects to /hop/N-1; /hop/0 serves the file.
  const chain = await serve((req, res) => {
    const n = Number(req.url?.split('/')[2]);
    if (n === 0) return servesPng(req, res);
    res.writeHead(302, { location: `/hop/${n - 1}` }).end();
  });
  const fetched = await safeFetch(`${chain.url}/hop/3`, options({ allowPrivate: true, maxRedirects: 3 }));
  assert.deepEqual(fetched.bytes, PNG);
  assert.equal(fetched.finalUrl, `${chain.url}/hop/0`);

  chain.hits.length = 0;
  const err = await refusal(safeFetch(`${chain.url}/hop/4`, options({ allowPrivate: true, maxRedirects: 3 })));
  assert.match(err.message, /too many redirects/);
  assert.deepEqual(chain.hits, ['/hop/4', '/hop/3', '/hop/2', '/hop/1'], 'the fourth redirect is not followed');

  // The default is 5.
  assert.deepEqual((await safeFetch(`${chain.url}/hop/5`, options({ allowPrivate: true }))).bytes, PNG);
  await refusal(safeFetch(`${chain.url}/hop/6`, options({ allowPrivate: true })));

  // A redirect loop ends too.
  const loop = await serve((_req, res) => res.writeHead(302, { location: '/again' }).end());
  assert.match((await refusal(safeFetch(`${loop.url}/again`, options({ allowPrivate: true })))).message, /too many redirects/);
});

test('a declared Content-Length over the cap is refused without reading the body', async () => {
  const big = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'video/mp4', 'content-length': 2048 });
    res.end(Buffer.alloc(2048));
  });
  const err = await refusal(safeFetch(`${big.url}/v.mp4`, options({ allowPrivate: true, maxBytes: 1024 })));
  assert.match(err.message, /larger than 1024 bytes/);
  // Exactly at the cap is fine.
  assert.equal((await safeFetch(`${big.url}/v.mp4`, options({ allowPrivate: true, maxBytes: 2048 }))).bytes.length, 2048);
});

test('a chunked body that grows past the cap is cut off and refused', async () => {
  let written = 0;
  const endless = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream' }); // no Content-Length: chunked
    const timer = setInterval(() => {
      if (res.destroyed || written > 10 * 1024 * 1024) return (clearInterval(timer), res.destroy());
      res.write(Buffer.alloc(16 * 1024));
      written += 16 * 1024;
    }, 2);
    res.on('close', () => clearInterval(timer));
  });
  const err = await refusal(safeFetch(`${endless.url}/stream`, options({ allowPrivate: true, maxBytes: 100 * 1024 })));
  assert.match(err.message, /larger than 102400 bytes/);
  await new Promise((r) => setTimeout(r, 100));
  assert.ok(written < 1024 * 1024, `the download stopped soon after the cap (server wrote ${written} bytes)`);
});

test('a server that accepts but never answers times out', async () => {
  const silent = await serve(() => {}); // never responds
  const started = Date.now();
  const err = await refusal(safeFetch(`${silent.url}/x.png`, options({ allowPrivate: true, timeoutMs: 300 })));
  assert.match(err.message, /did not answer within 300 ms/);
  assert.ok(Date.now() - started < 5_000, 'it gave up promptly');
});

test('a server that sends headers and then stalls mid-body times out', async () => {
  const stalls = await serve((_req, res) => {
    res.writeHead(200, { 'content-type': 'image/png', 'content-length': 1000 });
    res.write(Buffer.alloc(10)); // and nothing more
  });
  const started = Date.now();
  await refusal(safeFetch(`${stalls.url}/x.png`, options({ allowPrivate: true, timeoutMs: 300 })));
  assert.ok(Date.now() - started < 5_000, 'it gave up promptly');
});

test('an error status is refused with the status in the message', async () => {
  const missing = await serve((_req, res) => res.writeHead(404).end('nope'));
  const err = await refusal(safeFetch(`${missing.url}/x.png`, options({ allowPrivate: true })));
  assert.match(err.message, /HTTP 404/);
});
