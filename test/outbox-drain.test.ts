// The outbox drain on a real Postgres, with a scripted session: order, NOTIFY wake-ups, the fallback look.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MockActivityEnvironment } from '@temporalio/testing';
import { pino } from 'pino';
import { createDb, migrate, type Db } from '../db/knex.js';
import { createInstance } from '../db/instances.js';
import { insertOutgoing } from '../db/outgoing.js';
import { STATUS_CHANNEL } from '../db/messages.js';
import { createOutboxActivities, MAX_SEND_FAILURES, type DrainInput } from '../activities/outbox.js';
import { Arrivals } from '../db/arrivals.js';
import { OUTBOX_CHANNEL } from '../db/outbox.js';
import { SessionHost } from '../activities/sessionHost.js';
import { PgListener } from '../db/pgListener.js';
import type { MediaStore } from '../media/store.js';
import type { StoredContent } from '../domain/content.js';
import type { OutgoingMessage, WhatsAppSession } from '../whatsapp/session.js';
import { createDatabase } from './support/infra.js';

const logger = pino({ level: 'silent' });
let db: Db;
let listener: PgListener;
before(async () => {
  const url = await createDatabase('outbox_drain');
  db = createDb(url, { poolMax: 4 });
  await migrate(db);
  listener = new PgListener(url, logger);
  await listener.start();
});
after(async () => {
  await listener?.stop();
  await db?.destroy();
});

/** A connected session whose sends are recorded; `hold()` makes the next send wait until released. */
function scriptedSession() {
  const sent: string[] = [];
  let gate: { reached: () => void; release: Promise<void> } | undefined;
  // The keys of a send are stored when this resolves (SessionKeys' barrier).
  let keysStored: Promise<void> = Promise.resolve();
  /** Sends that throw, by message id; a failure may also take the connection down. */
  const failing = new Map<string, { error: Error; dropsConnection: boolean }>();
  let open = true;
  const session = {
    closed: new Promise(() => {}),
    waitOpen: async () => {
      if (!open) throw new Error('the WhatsApp connection is not open');
    },
    persisted: () => keysStored,
    exists: async (jid: string) => ({ exists: true, jid }),
    async send(message: OutgoingMessage) {
      const failure = failing.get(message.id);
      if (failure) {
        if (failure.dropsConnection) open = false;
        throw failure.error;
      }
      const waiting = gate;
      gate = undefined;
      if (waiting) {
        waiting.reached();
        await waiting.release;
      }
      sent.push(message.id);
    },
  } as unknown as WhatsAppSession;
  return {
    session,
    sent,
    failing,
    reconnect: () => void (open = true),
    /** Holds the keys barrier until the returned function is called. */
    delayKeys(): () => void {
      let store!: () => void;
      keysStored = new Promise<void>((resolve) => (store = resolve));
      return store;
    },
    /** The next send waits; resolves once it is waiting, with the function that lets it go on. */
    hold(): Promise<() => void> {
      let release!: () => void;
      return new Promise((reached) => {
        gate = { reached: () => reached(release), release: new Promise<void>((resolve) => (release = resolve)) };
      });
    },
  };
}

async function setup(instanceId: string, arrivals: Arrivals, media = {} as MediaStore) {
  await createInstance(db, instanceId, 'drain test');
  const scripted = scriptedSession();
  const host = new SessionHost('worker-test', 'queue-test');
  host.attach(instanceId, scripted.session);
  const activities = createOutboxActivities({
    db,
    host,
    media,
    logger,
    maxMediaBytes: 1_000_000,
    allowPrivateMediaUrls: false,
    arrivals,
    drainIdleMs: 300,
  });
  let n = 0;
  const accept = async (chatId = '905550000001@s.whatsapp.net', content: StoredContent = { type: 'text', body: 'x' }) => {
    const id = `3EB0${instanceId.toUpperCase()}${String(n++).padStart(6, '0')}`;
    await insertOutgoing(db, {
      instanceId,
      id,
      chatId,
      from: null,
      type: content.type === 'text' ? 'chat' : content.type,
      body: 'x',
      content,
      source: 'api',
    });
    return id;
  };
  // Drains that fail on purpose are not worth a log line each.
  const quiet = { log() {}, trace() {}, debug() {}, info() {}, warn() {}, error() {} };
  const drain = (input: Omit<DrainInput, 'instanceId'>) =>
    new MockActivityEnvironment(undefined, { logger: quiet }).run(activities.drainOutbox, { instanceId, ...input });
  return { ...scripted, host, accept, drain };
}

const until = async (check: () => boolean, what: string, ms = 10_000) => {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
};

test('messages accepted while a batch is being sent are taken on their NOTIFY, in order', async () => {
  const s = await setup('notified', new Arrivals(listener, OUTBOX_CHANNEL));
  const first = [await s.accept(), await s.accept()];
  const held = s.hold();
  // The fallback look would come only after a minute: what goes out before that was woken by a NOTIFY.
  const drained = s.drain({ idleMs: 120_000, pollMs: 60_000, maxMs: 120_000 });
  const release = await held;
  const later = [await s.accept(), await s.accept(), await s.accept()];
  release();
  await until(() => s.sent.length === 5, 'all five sends');
  assert.deepEqual(s.sent, [...first, ...later]);
  // A message accepted once the drain is waiting again is taken too.
  const last = await s.accept();
  await until(() => s.sent.length === 6, 'the sixth send');
  assert.equal(s.sent[5], last);
  // A worker shutting down ends the waiting drain at once, once the statuses are written.
  await s.host.evacuate(0);
  assert.deepEqual(await drained, { sent: 6, failed: 0, more: false, notConnected: false });
  const statuses = await db('messages').where({ instance_id: 'notified' }).orderBy('seq').pluck('status');
  assert.deepEqual(statuses, Array(6).fill('sent'));
});

test('a NOTIFY that never arrives delays a message only until the next look', async () => {
  // Arrivals that hear nothing: this drain learns of new messages only by looking again.
  const deaf = new Arrivals({ on: () => () => {}, onReconnect: () => () => {} } as unknown as PgListener, OUTBOX_CHANNEL);
  const s = await setup('deaf', deaf);
  const drained = s.drain({ idleMs: 1_000, pollMs: 100, maxMs: 30_000 });
  await new Promise((resolve) => setTimeout(resolve, 150));
  const id = await s.accept();
  await until(() => s.sent.length === 1, 'the send found by looking');
  assert.deepEqual(s.sent, [id]);
  const result = await drained;
  assert.deepEqual(result, { sent: 1, failed: 0, more: false, notConnected: false });
});

test('the next messages go out while the statuses of the previous ones wait for their keys, and none goes twice', async () => {
  const s = await setup('pipelined', new Arrivals(listener, OUTBOX_CHANNEL));
  // What a waiting send request hears (api/sendWaiter.ts).
  const announced: string[] = [];
  listener.on(STATUS_CHANNEL, (payload) => {
    const [instanceId, id, status] = payload.split('\n');
    if (instanceId === 'pipelined') announced.push(`${id} ${status}`);
  });
  const storeKeys = s.delayKeys();
  const drained = s.drain({ idleMs: 120_000, pollMs: 60_000, maxMs: 120_000 });
  const first = await s.accept();
  await until(() => s.sent.length === 1, 'the first send');
  const second = await s.accept();
  const third = await s.accept();
  await until(() => s.sent.length === 3, 'the later sends, before any status is written');
  assert.deepEqual(s.sent, [first, second, third]);
  const statusOf = async () => db('messages').where({ instance_id: 'pipelined' }).orderBy('seq').pluck('status');
  assert.deepEqual(await statusOf(), ['pending', 'pending', 'pending']);
  // Their requests hear that they went out without waiting for the keys.
  await until(() => announced.length === 3, 'three announcements');
  assert.deepEqual(
    announced,
    [first, second, third].map((id) => `${id} sent`),
  );
  storeKeys();
  await s.host.evacuate(0);
  assert.deepEqual(await drained, { sent: 3, failed: 0, more: false, notConnected: false });
  assert.deepEqual(await statusOf(), ['sent', 'sent', 'sent']);
  assert.deepEqual(s.sent, [first, second, third]);
  // Recording the statuses announces nothing again.
  await new Promise((resolve) => setTimeout(resolve, 200));
  assert.deepEqual(
    announced,
    [first, second, third].map((id) => `${id} sent`),
  );
});

test('sending runs ahead of recording by two batches at most', async () => {
  const s = await setup('backpressure', new Arrivals(listener, OUTBOX_CHANNEL));
  const storeKeys = s.delayKeys();
  const ids = [await s.accept(), await s.accept(), await s.accept(), await s.accept()];
  const drained = s.drain({ batch: 1, idleMs: 120_000, pollMs: 60_000, maxMs: 120_000 });
  await until(() => s.sent.length === 3, 'three sends');
  // The fourth waits for the first ones to be recorded, which waits for their keys.
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.deepEqual(s.sent, ids.slice(0, 3));
  storeKeys();
  await until(() => s.sent.length === 4, 'the fourth send');
  await s.host.evacuate(0);
  assert.deepEqual(await drained, { sent: 4, failed: 0, more: false, notConnected: false });
  assert.deepEqual(s.sent, ids);
});

test('a message whose send keeps failing while the connection is up fails, and the messages behind it go out', async () => {
  const s = await setup('poison', new Arrivals(listener, OUTBOX_CHANNEL));
  const [poison, next] = [await s.accept(), await s.accept()];
  s.failing.set(poison, { error: new Error('unsendable content'), dropsConnection: false });
  const drain = () => s.drain({ idleMs: 100, pollMs: 50, maxMs: 30_000 });
  // Each failed drain is retried by the outbox workflow; the message holds the others back until the last try.
  for (let attempt = 1; attempt < MAX_SEND_FAILURES; attempt++) {
    await assert.rejects(drain(), /unsendable content/);
    assert.deepEqual(s.sent, []);
  }
  assert.deepEqual(await drain(), { sent: 1, failed: 1, more: false, notConnected: false });
  assert.deepEqual(s.sent, [next]);
  const rows = await db('messages').where({ instance_id: 'poison' }).orderBy('seq').select('id', 'status', 'error', 'send_failures');
  assert.deepEqual(rows, [
    {
      id: poison,
      status: 'failed',
      error: `sending failed ${MAX_SEND_FAILURES} times: unsendable content`,
      send_failures: MAX_SEND_FAILURES,
    },
    { id: next, status: 'sent', error: null, send_failures: 0 },
  ]);
});

test('a send that fails because the connection went down is not held against the message', async () => {
  const s = await setup('dropped', new Arrivals(listener, OUTBOX_CHANNEL));
  const id = await s.accept();
  s.failing.set(id, { error: new Error('Connection Closed'), dropsConnection: true });
  for (let attempt = 1; attempt <= MAX_SEND_FAILURES; attempt++) {
    s.reconnect();
    await assert.rejects(s.drain({ idleMs: 100, pollMs: 50, maxMs: 30_000 }), /Connection Closed/);
  }
  const row = await db('messages').where({ instance_id: 'dropped', id }).first('status', 'send_failures');
  assert.deepEqual(row, { status: 'pending', send_failures: 0 });
  // Once the connection holds, the message goes out.
  s.failing.delete(id);
  s.reconnect();
  assert.deepEqual(await s.drain({ idleMs: 100, pollMs: 50, maxMs: 30_000 }), { sent: 1, failed: 0, more: false, notConnected: false });
  assert.deepEqual(s.sent, [id]);
});

test("a message whose media is slow to load holds back only its recipient's later messages", async () => {
  // Stored files load when the test lets them: slow.jpg only once released.
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const reads: string[] = [];
  const media = {
    async read(_instance: string, filename: string) {
      reads.push(filename);
      if (filename === 'slow.jpg') await released;
      return { bytes: Buffer.from(filename), mimetype: 'image/jpeg' };
    },
  } as unknown as MediaStore;
  const s = await setup('lookahead', new Arrivals(listener, OUTBOX_CHANNEL), media);
  const [bob, carol, dave] = ['905550000002', '905550000003', '905550000004'].map((n) => `${n}@s.whatsapp.net`);
  const image = (file: string): StoredContent => ({ type: 'image', media: { stored: file } });
  const slow = await s.accept(bob, image('slow.jpg'));
  const toCarol = await s.accept(carol, image('quick.jpg'));
  const afterSlow = await s.accept(bob);
  const toDave = await s.accept(dave);
  const drained = s.drain({ idleMs: 120_000, pollMs: 60_000, maxMs: 120_000 });
  await until(() => s.sent.length === 2, 'the messages to other recipients');
  await new Promise((resolve) => setTimeout(resolve, 200));
  // Carol's and Dave's messages overtook the slow one; Bob's next one waits for it.
  assert.deepEqual(s.sent, [toCarol, toDave]);
  assert.deepEqual(reads.sort(), ['quick.jpg', 'slow.jpg']);
  const rows = await db('messages').where({ instance_id: 'lookahead' }).whereIn('id', [slow, afterSlow]).pluck('status');
  assert.deepEqual(rows, ['pending', 'pending']);
  release();
  await until(() => s.sent.length === 4, "Bob's messages");
  assert.deepEqual(s.sent, [toCarol, toDave, slow, afterSlow]);
  await s.host.evacuate(0);
  assert.deepEqual(await drained, { sent: 4, failed: 0, more: false, notConnected: false });
});

test("a media message that cannot be loaded fails in its turn, and its recipient's next message follows it", async () => {
  const media = { read: async () => undefined } as unknown as MediaStore;
  const s = await setup('lookahead_gone', new Arrivals(listener, OUTBOX_CHANNEL), media);
  const bob = '905550000002@s.whatsapp.net';
  const gone = await s.accept(bob, { type: 'image', media: { stored: 'gone.jpg' } });
  const next = await s.accept(bob);
  assert.deepEqual(await s.drain({ idleMs: 100, pollMs: 50, maxMs: 30_000 }), { sent: 1, failed: 1, more: false, notConnected: false });
  assert.deepEqual(s.sent, [next]);
  const row = await db('messages').where({ instance_id: 'lookahead_gone', id: gone }).first('status', 'error');
  assert.deepEqual(row, { status: 'failed', error: 'media file gone.jpg no longer exists' });
});
