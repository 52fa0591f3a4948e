// Hostile and broken webhook receivers cost one bounded attempt each and never hold up another instance:
// hanging, streaming a huge body, redirecting, hanging up; and private addresses refused on request.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { recordEvent } from '../db/events.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { startReceiver, type Receiver } from './support/receiver.js';

let gw: Gateway;
let strict: Gateway;
const receivers: Receiver[] = [];

before(async () => {
  [gw, strict] = await Promise.all([
    // A long first pause: each receiver below gets one attempt within the test.
    startGateway({ name: 'webhook_receivers', workers: 1, env: { WEBHOOK_BACKOFF_BASE_MS: '60000' } }),
    // Also a short retry window (3.6 s) and log retention (8.6 s), swept every second.
    startGateway({
      name: 'webhook_strict',
      workers: 1,
      env: {
        WEBHOOK_PRIVATE_URLS: 'deny',
        WEBHOOK_BACKOFF_BASE_MS: '60000',
        WEBHOOK_RETRY_HOURS: '0.001',
        WEBHOOK_RETENTION_DAYS: '0.0001',
        WEBHOOK_SWEEP_SECONDS: '1',
      },
    }),
  ]);
});
after(async () => {
  await Promise.all(receivers.map((r) => r.stop()));
  await Promise.all([gw?.stop(), strict?.stop()]);
});

async function instanceWithReceiver(on: Gateway, id: string): Promise<Receiver> {
  const receiver = await startReceiver();
  receivers.push(receiver);
  assert.equal((await on.request('/api/instance', { method: 'POST', json: { id } })).status, 200);
  assert.equal(
    (await on.request(`/api/instance/${id}/settings`, { method: 'POST', json: { webhookUrl: receiver.url, webhookEnabled: true } })).status,
    200,
  );
  return receiver;
}

const record = async (on: Gateway, instanceId: string) => {
  const id = await recordEvent(on.db, instanceId, 'message_received', {
    id: randomBytes(4).toString('hex'),
    chatId: '905550000009@s.whatsapp.net',
    body: 'x',
  });
  assert.ok(id);
  return id;
};

/** The delivery's log once its first attempt is recorded. */
const firstAttempt = (on: Gateway, instanceId: string, id: string) =>
  eventually(
    async () => {
      const res = await on.request(`/api/instance/${instanceId}/webhooks/deliveries/${id}`);
      const body = (await res.json()) as {
        status: string;
        lastError: string | null;
        attempts: Array<{ durationMs: number; statusCode: number | null; error: string | null }>;
      };
      return body.attempts.length > 0 ? body : undefined;
    },
    30_000,
    `first attempt of ${id}`,
  );

test('a receiver that never answers is cut off after 10 s, and another instance is delivered meanwhile', async () => {
  const hanging = await instanceWithReceiver(gw, 'hangs');
  hanging.answer = () => {}; // never answers
  const fast = await instanceWithReceiver(gw, 'fast');
  const stuck = await record(gw, 'hangs');
  // The first test of the file: the attempt waits for the worker to have started (slow on a busy machine).
  await eventually(async () => hanging.received.length === 1, 30_000, 'the hanging attempt started');
  const started = Date.now();
  await record(gw, 'fast');
  await eventually(async () => fast.received.length === 1, 5_000, "the other instance's event");
  assert.ok(Date.now() - started < 3_000, `the other instance waited ${Date.now() - started} ms`);
  const log = await firstAttempt(gw, 'hangs', stuck);
  assert.equal(log.status, 'pending', 'a timeout is retried');
  assert.match(log.lastError!, /no answer within 10 s/);
  const duration = log.attempts[0]!.durationMs;
  assert.ok(duration >= 9_900 && duration < 12_000, `cut off after ${duration} ms`);
  await eventually(async () => hanging.inFlight === 0, 5_000, 'the connection closed');
});

test('a receiver streaming an endless body costs a bounded read: its answer counts, the rest is never downloaded', async () => {
  const streaming = await instanceWithReceiver(gw, 'streams');
  let sent = 0;
  let closed = false;
  const endless = (status: number) => (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(status, { 'content-type': 'text/plain' });
    const chunk = Buffer.alloc(64 * 1024, 'x');
    const pump = () => {
      while (!res.destroyed && res.write(chunk)) sent += chunk.length;
      if (!res.destroyed) res.once('drain', pump);
    };
    res.on('close', () => (closed = true));
    pump();
  };
  streaming.answers = [endless(500)];
  const id = await record(gw, 'streams');
  const log = await firstAttempt(gw, 'streams', id);
  assert.equal(log.attempts[0]!.statusCode, 500);
  assert.ok(log.attempts[0]!.durationMs < 2_000, `${log.attempts[0]!.durationMs} ms`);
  assert.ok(log.lastError!.length < 300, 'only a prefix is kept');
  await eventually(async () => closed, 5_000, 'the connection dropped');
  assert.ok(sent < 64 * 1024 * 1024, `${sent} bytes were sent before it was dropped`);
});

test('a redirect is a failed attempt and is not followed; a receiver that hangs up is retried', async () => {
  const redirecting = await instanceWithReceiver(gw, 'redirects');
  const target = await startReceiver();
  receivers.push(target);
  redirecting.answers = [{ status: 307, headers: { location: target.url } }];
  const moved = await record(gw, 'redirects');
  const log = await firstAttempt(gw, 'redirects', moved);
  assert.equal(log.status, 'pending');
  assert.equal(log.attempts[0]!.statusCode, 307);
  assert.equal(target.received.length, 0, 'not followed');

  const hangingUp = await instanceWithReceiver(gw, 'hangs-up');
  hangingUp.answers = [(req) => req.socket.destroy()];
  const dropped = await record(gw, 'hangs-up');
  const dropLog = await firstAttempt(gw, 'hangs-up', dropped);
  assert.equal(dropLog.status, 'pending');
  assert.equal(dropLog.attempts[0]!.statusCode, null);
  assert.ok(dropLog.lastError);
});

test('WEBHOOK_PRIVATE_URLS=deny refuses a receiver on a private address, checked on the address connected to', async () => {
  const local = await instanceWithReceiver(strict, 'private');
  // A name, not an address: the check is on where the connection went.
  await strict.request('/api/instance/private/settings', {
    method: 'POST',
    json: { webhookUrl: local.url.replace('127.0.0.1', 'localhost') },
  });
  const id = await record(strict, 'private');
  const log = await firstAttempt(strict, 'private', id);
  assert.match(log.lastError!, /refusing to deliver to a private address \((127\.0\.0\.1|::1)\)/);
  assert.equal(local.received.length, 0);
});

test('an event whose receiver keeps failing fails when its retry window ends, and leaves the log after the retention time', async () => {
  // On this gateway a loopback receiver is refused: every attempt fails.
  await instanceWithReceiver(strict, 'expires');
  const id = await record(strict, 'expires');
  const url = `/api/instance/expires/webhooks/deliveries/${id}`;
  const failed = await eventually(
    async () => {
      const body = (await (await strict.request(url)).json()) as { status: string; lastError: string };
      return body.status === 'failed' ? body : undefined;
    },
    15_000,
    'failed at the end of its window',
  );
  assert.match(failed.lastError, /retry window ended/);
  await eventually(async () => (await strict.request(url)).status === 404, 20_000, 'pruned from the log');
});
