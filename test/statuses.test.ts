// The status rules of the message store, on a real Postgres: forward only, every step recorded once, in order.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createDb, migrate, type Db } from '../db/knex.js';
import { createInstance } from '../db/instances.js';
import { pickUpPending, setStatuses } from '../db/messages.js';
import { insertOutgoing } from '../db/outgoing.js';
import { createDatabase } from './support/infra.js';

let db: Db;
before(async () => {
  db = createDb(await createDatabase('statuses'), { poolMax: 4 });
  await migrate(db);
  await createInstance(db, 'shop', 'test');
  await db('instance_settings').where({ instance_id: 'shop' }).update({ webhook_url: 'http://127.0.0.1:9/hook', webhook_enabled: true });
});
after(() => db?.destroy());

let next = 0;
async function outgoing(instanceId = 'shop'): Promise<string> {
  const id = `3EB0STATUS${String(next++).padStart(8, '0')}`;
  await insertOutgoing(db, {
    instanceId,
    id,
    chatId: '905550000001@s.whatsapp.net',
    from: null,
    type: 'chat',
    body: 'x',
    content: { type: 'text', body: 'x' },
    source: 'api',
  });
  return id;
}
const statusOf = async (id: string) => (await db('messages').where({ instance_id: 'shop', id }).first()).status;
const acks = async (id: string) =>
  (await db('webhook_events').where({ instance_id: 'shop', event: 'message_ack' }).whereRaw("data->>'id' = ?", [id]).orderBy('seq')).map(
    (e) => e.data.status,
  );

test('a status only moves forward, and a late receipt changes nothing', async () => {
  const id = await outgoing();
  assert.equal(await setStatuses(db, 'shop', [{ id, status: 'sent' }]), 1);
  assert.equal(await setStatuses(db, 'shop', [{ id, status: 'read' }]), 1);
  assert.equal(await setStatuses(db, 'shop', [{ id, status: 'delivered' }]), 0);
  assert.equal(await setStatuses(db, 'shop', [{ id, status: 'sent' }]), 0);
  assert.equal(await statusOf(id), 'read');
  assert.deepEqual(await acks(id), ['sent', 'delivered', 'read']);
});

test('a read receipt before the send was recorded announces every step it implies, in order', async () => {
  const id = await outgoing();
  assert.equal(await setStatuses(db, 'shop', [{ id, status: 'read' }]), 1);
  assert.deepEqual(await acks(id), ['sent', 'delivered', 'read']);
  const row = await db('messages').where({ instance_id: 'shop', id }).first();
  assert.ok(row.sent_at, 'leaving pending stamps sent_at');
});

test('sent_at is when the message went out, also when a receipt shares the write; picking up writes nothing', async () => {
  const [a, b] = [await outgoing(), await outgoing()];
  const rowVersion = async (id: string) => (await db('messages').where({ instance_id: 'shop', id }).first(db.raw('xmin::text as v'))).v;
  const before = await rowVersion(a);
  const picked = await pickUpPending(db, 'shop', 1_000);
  assert.ok(picked.messages.some((m) => m.id === a));
  assert.equal(await rowVersion(a), before, 'the pick-up leaves the row as it was');
  const wentOut = Date.parse('2026-01-02T03:04:05.678Z');
  await setStatuses(db, 'shop', [
    { id: a, status: 'sent', sentAt: wentOut },
    { id: b, status: 'sent', sentAt: wentOut + 1_000 },
    { id: b, status: 'delivered' },
  ]);
  const rows = await db('messages').where({ instance_id: 'shop' }).whereIn('id', [a, b]).orderBy('seq');
  assert.deepEqual(
    rows.map((r) => [r.status, new Date(r.sent_at).getTime()]),
    [
      ['sent', wentOut],
      ['delivered', wentOut + 1_000],
    ],
  );
});

test('changes to many messages apply together; duplicates and unknown ids are harmless', async () => {
  const [a, b, c] = [await outgoing(), await outgoing(), await outgoing()];
  const changed = await setStatuses(db, 'shop', [
    { id: a, status: 'sent' },
    { id: b, status: 'sent' },
    { id: a, status: 'delivered' },
    { id: 'NOT-A-MESSAGE', status: 'read' },
    { id: c, status: 'played' },
  ]);
  assert.equal(changed, 3);
  assert.deepEqual([await statusOf(a), await statusOf(b), await statusOf(c)], ['delivered', 'sent', 'played']);
  assert.deepEqual(await acks(a), ['sent', 'delivered']);
  assert.deepEqual(await acks(c), ['sent', 'delivered', 'read', 'played']);
});

test('only a pending message can fail, and the reason is kept', async () => {
  const [pending, sent] = [await outgoing(), await outgoing()];
  await setStatuses(db, 'shop', [{ id: sent, status: 'sent' }]);
  assert.equal(
    await setStatuses(db, 'shop', [
      { id: pending, status: 'failed', error: 'not on WhatsApp' },
      { id: sent, status: 'failed', error: 'late' },
    ]),
    1,
  );
  const row = await db('messages').where({ instance_id: 'shop', id: pending }).first();
  assert.deepEqual([row.status, row.error], ['failed', 'not on WhatsApp']);
  assert.equal(await statusOf(sent), 'sent');
  const event = await db('webhook_events')
    .where({ instance_id: 'shop', event: 'message_ack' })
    .whereRaw("data->>'id' = ?", [pending])
    .first();
  assert.deepEqual(event.data, {
    id: pending,
    chatId: '905550000001@s.whatsapp.net',
    status: 'failed',
    fromMe: true,
    error: 'not on WhatsApp',
  });
});

test('incoming messages never take outgoing statuses', async () => {
  await db('messages').insert({
    instance_id: 'shop',
    id: 'IN-1',
    chat_id: 'c@s.whatsapp.net',
    from_me: false,
    type: 'chat',
    status: 'received',
    timestamp: 1,
  });
  assert.equal(await setStatuses(db, 'shop', [{ id: 'IN-1', status: 'read' }]), 0);
  assert.equal(await statusOf('IN-1'), 'received');
});

test('concurrent sends are stored together, each once, and one idempotency key stores one message', async () => {
  const message = (n: number, key?: string) => ({
    instanceId: 'shop',
    id: `3EB0BATCH${String(n).padStart(9, '0')}`,
    chatId: `90555000${n % 3}@s.whatsapp.net`,
    from: null,
    type: 'chat',
    body: `m${n}`,
    content: { type: 'text', body: `m${n}` },
    source: 'api' as const,
    ...(key ? { idempotencyKey: key } : {}),
  });
  const results = await Promise.all([
    ...Array.from({ length: 20 }, (_, n) => insertOutgoing(db, message(n))),
    insertOutgoing(db, message(100, 'same-key')),
    insertOutgoing(db, message(101, 'same-key')),
  ]);
  assert.ok(results.slice(0, 20).every((r) => r.created && r.row.status === 'pending'));
  assert.equal(new Set(results.slice(0, 20).map((r) => r.row.seq)).size, 20);
  const [a, b] = results.slice(20);
  assert.equal(a!.row.id, b!.row.id);
  assert.deepEqual([a!.created, b!.created].sort(), [false, true]);
  assert.equal(
    await db('messages')
      .where({ instance_id: 'shop', idempotency_key: 'same-key' })
      .count({ n: '*' })
      .first()
      .then((r) => Number(r!.n)),
    1,
  );
  // Each chat's last message moved with the batch.
  assert.equal(
    await db('chats')
      .where({ instance_id: 'shop' })
      .whereIn('id', ['905550000@s.whatsapp.net', '905550001@s.whatsapp.net', '905550002@s.whatsapp.net'])
      .count({ n: '*' })
      .first()
      .then((r) => Number(r!.n)),
    3,
  );
});

test('a send for an instance that no longer exists fails alone, not the sends stored with it', async () => {
  const ok = (n: number) => ({
    instanceId: 'shop',
    id: `3EB0ALONE${n}`,
    chatId: '905550000001@s.whatsapp.net',
    from: null,
    type: 'chat',
    body: 'x',
    content: { type: 'text', body: 'x' },
    source: 'api' as const,
  });
  const results = await Promise.allSettled([
    insertOutgoing(db, ok(1)),
    insertOutgoing(db, { ...ok(2), instanceId: 'gone' }),
    insertOutgoing(db, ok(3)),
  ]);
  assert.deepEqual(
    results.map((r) => r.status),
    ['fulfilled', 'rejected', 'fulfilled'],
  );
});

test("accepting a message creates its chat or moves the chat's last message time forward, never back", async () => {
  const chatOf = async () => (await db('chats').where({ instance_id: 'shop', id: '905550000001@s.whatsapp.net' }).first()).last_message;
  await outgoing();
  const now = Math.floor(Date.now() / 1000);
  assert.ok(Math.abs(Number(await chatOf()) - now) <= 2);
  await db('chats')
    .where({ instance_id: 'shop', id: '905550000001@s.whatsapp.net' })
    .update({ last_message: now - 3600 });
  await outgoing();
  assert.ok(Number(await chatOf()) >= now);
  // A later message (say, an incoming one stamped by the phone ahead of this clock) stays the last one.
  await db('chats')
    .where({ instance_id: 'shop', id: '905550000001@s.whatsapp.net' })
    .update({ last_message: now + 3600 });
  await outgoing();
  assert.equal(Number(await chatOf()), now + 3600);
});

test('an instance without a webhook (none set, or switched off) records its statuses, and their events for streams only, no delivery', async () => {
  await createInstance(db, 'quiet', 'test');
  await db('instance_settings').where({ instance_id: 'quiet' }).update({ webhook_url: 'http://127.0.0.1:9/hook', webhook_enabled: false });
  const id = await outgoing('quiet');
  assert.equal(await setStatuses(db, 'quiet', [{ id, status: 'read' }]), 1);
  assert.equal((await db('messages').where({ instance_id: 'quiet', id }).first()).status, 'read');
  await db('instance_settings').where({ instance_id: 'quiet' }).update({ webhook_url: null, webhook_enabled: true });
  const other = await outgoing('quiet');
  assert.equal(await setStatuses(db, 'quiet', [{ id: other, status: 'delivered' }]), 1);
  // In the event log (streams read it), but nothing for a webhook to deliver.
  const logged = await db('webhook_events').where({ instance_id: 'quiet' }).orderBy('seq');
  assert.deepEqual(
    logged.map((e) => [e.data.id, e.data.status, e.delivery_status]),
    [
      [id, 'sent', 'none'],
      [id, 'delivered', 'none'],
      [id, 'read', 'none'],
      [other, 'sent', 'none'],
      [other, 'delivered', 'none'],
    ],
  );
  // Switched on: the next steps are delivered.
  await db('instance_settings').where({ instance_id: 'quiet' }).update({ webhook_url: 'http://127.0.0.1:9/hook' });
  assert.equal(await setStatuses(db, 'quiet', [{ id: other, status: 'read' }]), 1);
  const events = await db('webhook_events').where({ instance_id: 'quiet' }).whereNot('delivery_status', 'none');
  assert.deepEqual(
    events.map((e) => [e.data.id, e.data.status, e.delivery_status]),
    [[other, 'read', 'pending']],
  );
});
