// Webhook delivery survives its processes: the worker killed with kill -9 mid-retry and mid-backlog,
// and Temporal itself restarted while a failing receiver's retry waits on its timer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { recordEvent } from '../db/events.js';
import type { RunningTemporal } from '../stack/temporal.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { startReceiver, type Receiver } from './support/receiver.js';
import { ownTemporal, type OwnTemporal } from './support/ownTemporal.js';

// This file restarts Temporal, so it runs its own dev server (its state in a file that survives the restart).
let own: OwnTemporal;
let temporal: RunningTemporal;
let gw: Gateway;
let receiver: Receiver;

before(async () => {
  own = await ownTemporal('webhook-durability');
  temporal = await own.start();
  gw = await startGateway({
    name: 'webhook_durability',
    workers: 1,
    env: { TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default', WEBHOOK_BACKOFF_BASE_MS: '1000', WEBHOOK_IDLE_MS: '3000' },
  });
  receiver = await startReceiver();
  assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id: 'durable' } })).status, 200);
  assert.equal(
    (await gw.request('/api/instance/durable/settings', { method: 'POST', json: { webhookUrl: receiver.url, webhookEnabled: true } }))
      .status,
    200,
  );
});
after(async () => {
  await receiver?.stop();
  await gw?.stop();
  await temporal?.stop();
  own?.remove();
});

const chats = ['905559000001', '905559000002', '905559000003'];
async function recordMany(n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const id = await recordEvent(gw.db, 'durable', 'message_received', {
      id: randomBytes(6).toString('hex'),
      chatId: `${chats[i % chats.length]}@s.whatsapp.net`,
      body: `m${i}`,
    });
    ids.push(id!);
  }
  return ids;
}
const successes = (id: string) => receiver.received.filter((r) => r.json.id === id && r.status === 200);

test('killed with kill -9 while retrying, and Temporal restarted meanwhile, delivery loses nothing', async () => {
  receiver.answer = 503;
  const ids = await recordMany(30);
  await eventually(async () => receiver.received.length >= 2, 20_000, 'two failed attempts');
  gw.workers[0]!.child.kill('SIGKILL');
  await gw.workers[0]!.exited;
  await temporal.stop();
  temporal = await own.start();
  receiver.answer = 200;
  gw.startWorker('w2');
  await eventually(async () => ids.every((id) => successes(id).length > 0), 90_000, 'every event delivered');
  for (const id of ids) assert.equal(successes(id).length, 1, 'each event once');
  for (const chat of chats) {
    const order = receiver.received
      .filter((r) => r.status === 200 && r.json.data.chatId === `${chat}@s.whatsapp.net`)
      .map((r) => r.json.seq);
    assert.deepEqual(
      order,
      [...order].sort((a, b) => a - b),
      'in order',
    );
  }
  // An answer is stored a moment after the receiver gave it.
  await eventually(
    async () => {
      const pending = await gw
        .db('webhook_events')
        .where({ instance_id: 'durable', delivery_status: 'pending' })
        .count<{ count: string }[]>('* as count');
      return Number(pending[0]!.count) === 0;
    },
    10_000,
    'every delivery recorded as delivered',
  );
  const delivered = await gw
    .db('webhook_events')
    .where({ instance_id: 'durable', delivery_status: 'delivered' })
    .count<{ count: string }[]>('* as count');
  assert.equal(Number(delivered[0]!.count), ids.length);
});

test('killed with kill -9 in the middle of a backlog, delivery resumes elsewhere; a duplicate only ever has the same webhook-id', async () => {
  receiver.received.length = 0;
  receiver.delayMs = 20;
  const ids = await recordMany(300);
  await eventually(async () => receiver.received.length >= 30, 20_000, 'delivery under way');
  gw.workers.at(-1)!.child.kill('SIGKILL');
  await gw.workers.at(-1)!.exited;
  const atKill = new Set(receiver.received.map((r) => r.json.id));
  assert.ok(atKill.size < ids.length, 'killed before the end');
  gw.startWorker('w3');
  await eventually(async () => ids.every((id) => successes(id).length > 0), 90_000, 'every event delivered');
  const counts = ids.map((id) => receiver.received.filter((r) => r.json.id === id).length);
  assert.ok(
    receiver.received.every((r) => r.headers['webhook-id'] === r.json.id),
    'every request carries its event id',
  );
  const duplicated = ids.filter((_, i) => counts[i]! > 1);
  // At most the attempts under way or not yet recorded when the worker died arrive again.
  assert.ok(
    duplicated.every((id) => atKill.has(id)),
    'only events attempted before the kill arrive twice',
  );
  assert.ok(duplicated.length <= 64, `${duplicated.length} duplicates`);
});
