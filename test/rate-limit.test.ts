import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { startGateway, type Gateway } from './support/gateway.js';

let gw: Gateway;
before(async () => {
  gw = await startGateway({ name: 'ratelimit', workers: 0, env: { RATE_LIMIT_PER_MINUTE: '12' } });
});
after(() => gw?.stop());

test('the per-token limit holds across two API processes and answers 429 with Retry-After', async () => {
  const second = await gw.startApi();

  const call = (base: string) => fetch(`${base}/api/instance`, { headers: { 'x-api-key': gw.token } });
  const statuses: number[] = [];
  for (let i = 0; i < 8; i++) {
    statuses.push((await call(gw.baseUrl)).status, (await call(second.baseUrl)).status);
  }
  assert.deepEqual(statuses.slice(0, 12), Array(12).fill(200), 'the first 12 requests, spread over both processes, pass');
  assert.deepEqual(statuses.slice(12), [429, 429, 429, 429], 'the rest are limited, whichever process they reach');

  const limited = await call(second.baseUrl);
  assert.equal(limited.status, 429);
  const retryAfter = Number(limited.headers.get('retry-after'));
  // 12 a minute: one token refills every 5 s.
  assert.ok(retryAfter >= 1 && retryAfter <= 5, `Retry-After is ${retryAfter}`);
  assert.equal(((await limited.json()) as { code: string }).code, 'RATE_LIMITED');

  // /health is not rate limited.
  assert.equal((await fetch(`${gw.baseUrl}/health`)).status, 200);

  // No new burst at a minute's boundary: after Retry-After, one request passes, and the next waits again.
  await new Promise((r) => setTimeout(r, retryAfter * 1_000 + 200));
  assert.equal((await call(gw.baseUrl)).status, 200);
  assert.equal((await call(second.baseUrl)).status, 429);
  await second.proc.stop();
});

test('concurrent requests of one token take one token each: 30 at once against a limit of 12 let exactly 12 through', async () => {
  const other = randomBytes(16).toString('hex');
  const gw2 = await startGateway({ name: 'ratelimit_burst', workers: 0, env: { RATE_LIMIT_PER_MINUTE: '12', API_TOKEN: other } });
  try {
    const statuses = await Promise.all(
      Array.from({ length: 30 }, () => fetch(`${gw2.baseUrl}/api/instance`, { headers: { 'x-api-key': other } }).then((r) => r.status)),
    );
    assert.equal(statuses.filter((s) => s === 200).length, 12, statuses.join());
    assert.equal(statuses.filter((s) => s === 429).length, 18);
  } finally {
    await gw2.stop();
  }
});
