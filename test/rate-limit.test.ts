import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startGateway, type Gateway } from './support/gateway.js';

let gw: Gateway;
before(async () => {
  gw = await startGateway({ name: 'ratelimit', workers: 0, env: { RATE_LIMIT_PER_MINUTE: '12' } });
});
after(() => gw?.stop());

test('the per-token limit holds across two API processes and answers 429 with Retry-After', async () => {
  const second = await gw.startApi();
  // Windows are calendar minutes: start early in one so the test cannot straddle two.
  const secondsIntoMinute = new Date().getSeconds();
  if (secondsIntoMinute > 45) await new Promise((r) => setTimeout(r, (61 - secondsIntoMinute) * 1000));

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
  assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After is ${retryAfter}`);
  assert.equal(((await limited.json()) as { code: string }).code, 'RATE_LIMITED');

  // /health is not rate limited.
  assert.equal((await fetch(`${gw.baseUrl}/health`)).status, 200);
  await second.proc.stop();
});
