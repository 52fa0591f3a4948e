// The webhook retry policy and signing, as pure functions: what each answer means, the backoff
// schedule, Retry-After, the secret's form, and signatures a Standard Webhooks library accepts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { classify } from '../activities/webhookSender.js';
import { isWebhookSecret, maskSecret, settingsPatchSchema } from '../db/settings.js';
import { backoffMs, jitteredBackoffMs, parseRetryAfter } from '../domain/webhookSchedule.js';
import { webhookHeaders } from '../domain/webhookSignature.js';

test('what an answer means: 2xx delivered, 410 gone, other 4xx but 408 and 429 rejected, the rest retried', () => {
  const table: Array<[number, string]> = [
    [200, 'delivered'],
    [204, 'delivered'],
    [299, 'delivered'],
    [301, 'retry'],
    [307, 'retry'],
    [400, 'rejected'],
    [401, 'rejected'],
    [404, 'rejected'],
    [408, 'retry'],
    [410, 'gone'],
    [422, 'rejected'],
    [429, 'retry'],
    [500, 'retry'],
    [502, 'retry'],
    [503, 'retry'],
  ];
  for (const [status, outcome] of table) assert.equal(classify(status), outcome, String(status));
});

test('the backoff doubles from 5 s to an hour, with ±20 % jitter, and makes 33 attempts in 24 hours', () => {
  assert.deepEqual(
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 40].map((n) => backoffMs(n)),
    [5_000, 10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_280_000, 2_560_000, 3_600_000, 3_600_000, 3_600_000],
  );
  assert.equal(
    jitteredBackoffMs(3, 5_000, () => 0),
    16_000,
  );
  assert.equal(
    jitteredBackoffMs(3, 5_000, () => 0.999999),
    24_000,
  );
  let elapsed = 0;
  let attempts = 1;
  while (elapsed + backoffMs(attempts) <= 24 * 3_600_000) elapsed += backoffMs(attempts++);
  assert.equal(attempts, 33);
  let withinTenMinutes = 1;
  for (let t = 0, n = 1; (t += backoffMs(n)) <= 600_000; n++) withinTenMinutes++;
  assert.equal(withinTenMinutes, 7);
});

test('Retry-After is read as seconds or as an HTTP date', () => {
  const now = Date.parse('2026-12-01T10:00:00Z');
  assert.equal(parseRetryAfter('120', now), 120_000);
  assert.equal(parseRetryAfter(['7'], now), 7_000);
  assert.equal(parseRetryAfter('Tue, 01 Dec 2026 10:01:00 GMT', now), 60_000);
  assert.equal(parseRetryAfter('Tue, 01 Dec 2026 09:00:00 GMT', now), 0);
  assert.equal(parseRetryAfter(undefined, now), undefined);
  assert.equal(parseRetryAfter('soon', now), undefined);
});

test('a webhook secret is whsec_ and the base64 of 24 to 64 bytes; it is shown masked', () => {
  for (const n of [24, 32, 64]) assert.ok(isWebhookSecret(`whsec_${randomBytes(n).toString('base64')}`), `${n} bytes`);
  for (const bad of [
    '',
    'whsec_',
    `whsec_${randomBytes(23).toString('base64')}`,
    `whsec_${randomBytes(65).toString('base64')}`,
    `${randomBytes(32).toString('base64')}`,
    'whsec_###',
    'whsec_abcd-efgh_ijkl-mnop_qrst-uvwx_yz012345678',
  ])
    assert.ok(!isWebhookSecret(bad), bad);
  assert.equal(maskSecret('whsec_abcdefghijklmnopqrstuvwxyzABCD'), 'whsec_…ABCD');
  assert.equal(maskSecret(null), '');
  const parsed = settingsPatchSchema.parse({ webhookSecret: '', webhookUrl: '', sendDelay: '250', webhookEnabled: 'true' });
  assert.deepEqual(parsed, { webhookSecret: null, webhookUrl: null, sendDelayMs: 250, webhookEnabled: true });
});

test('signatures verify with the standardwebhooks package, and only with the same secret and body', () => {
  const secret = `whsec_${randomBytes(32).toString('base64')}`;
  const body = JSON.stringify({ event: 'message_received', data: { body: 'Günaydın ☀️' }, id: 'e1' });
  const seconds = Math.floor(Date.now() / 1000);
  const headers = webhookHeaders('e1', body, secret, seconds);
  assert.deepEqual(new Webhook(secret).verify(body, headers as unknown as Record<string, string>), JSON.parse(body));
  assert.throws(() => new Webhook(secret).verify(body.replace('Günaydın', 'Günaydin'), headers as unknown as Record<string, string>));
  assert.throws(() =>
    new Webhook(`whsec_${randomBytes(32).toString('base64')}`).verify(body, headers as unknown as Record<string, string>),
  );
  assert.equal(webhookHeaders('e1', body, null, seconds)['webhook-signature'], undefined);
});
