// A session's credentials and Signal keys are written only by the worker holding its lease, on a real Postgres:
// a holder presumed dead (yet still running) cannot overwrite what the worker that took over wrote.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { createDb, migrate, type Db } from '../db/knex.js';
import { createInstance } from '../db/instances.js';
import { claimLease, renewLeases } from '../db/leases.js';
import { clearSessionAuth, createAuthStore, LeaseLostError } from '../db/authStore.js';
import { SessionCreds, SessionKeys } from '../whatsapp/baileys/authState.js';
import { createDatabase } from './support/infra.js';

let db: Db;
before(async () => {
  db = createDb(await createDatabase('fencing'), { poolMax: 4 });
  await migrate(db);
  await createInstance(db, 'shop', 'test');
  await createInstance(db, 'kiosk', 'test');
});
after(() => db?.destroy());

const key = (value: string) => [{ type: 'session', id: '905550000001.0', value }];
const storedKey = async (instanceId: string) =>
  (await db('session_keys').where({ instance_id: instanceId, type: 'session', key_id: '905550000001.0' }).first())?.value as
    string | undefined;
const storedCreds = async (instanceId: string) =>
  (await db('session_creds').where({ instance_id: instanceId }).first())?.creds as string | undefined;

test('the holder writes; once another worker claims the lease, the old holder is refused and what the new one wrote stays', async () => {
  const firstEpoch = await claimLease(db, 'shop', 'w1', 'q1');
  let lostCalls = 0;
  const old = createAuthStore(db, 'shop', { epoch: firstEpoch, onLost: () => lostCalls++ });
  await old.writeCreds('creds by w1');
  await old.writeKeys(key('key by w1'));
  assert.equal(await storedCreds('shop'), 'creds by w1');
  assert.equal(await storedKey('shop'), 'key by w1');

  const secondEpoch = await claimLease(db, 'shop', 'w2', 'q2');
  const current = createAuthStore(db, 'shop', { epoch: secondEpoch });
  await current.writeCreds('creds by w2');
  await current.writeKeys(key('key by w2'));

  await assert.rejects(old.writeCreds('stale creds by w1'), LeaseLostError);
  await assert.rejects(old.writeKeys(key('stale key by w1')), LeaseLostError);
  // The path with deletes runs in a transaction: fenced the same way, and nothing of it lands.
  await assert.rejects(
    old.writeKeys([...key('stale key by w1'), { type: 'pre-key', id: '1', value: null }]),
    (err: Error) => err instanceof LeaseLostError && (err as LeaseLostError).permanent,
  );
  assert.equal(lostCalls, 3);
  assert.equal(await storedCreds('shop'), 'creds by w2');
  assert.equal(await storedKey('shop'), 'key by w2');
});

for (const [path, extra] of [
  ['a single statement', []],
  ['the transaction with deletes', [{ type: 'pre-key', id: '1', value: null }]],
] as const) {
  test(`a write under way (${path}) holds the lease row: a claim waits for it, so the new holder reads it`, async () => {
    await db('session_leases').where({ instance_id: 'kiosk' }).delete();
    await db('session_keys').where({ instance_id: 'kiosk' }).delete();
    await db('session_keys').insert({ instance_id: 'kiosk', type: 'session', key_id: '905550000001.0', value: 'before' });
    const epoch = await claimLease(db, 'kiosk', 'w1', 'q1');
    const holder = createAuthStore(db, 'kiosk', { epoch });
    // Another transaction locks the key row, so the holder's write stalls after it has checked the lease.
    const blocker = await db.transaction();
    await blocker('session_keys').where({ instance_id: 'kiosk', key_id: '905550000001.0' }).forUpdate().first();
    const writing = holder.writeKeys([...key('key by w1'), ...extra]);
    let claimed = false;
    let claim: Promise<number> | undefined;
    try {
      await sleep(200);
      claim = claimLease(db, 'kiosk', 'w2', 'q2').then((e) => {
        claimed = true;
        return e;
      });
      await sleep(300);
      assert.equal(claimed, false, 'the claim waits for the write under way to commit');
    } finally {
      // Also when the assertion failed: nothing may stay blocked behind this transaction.
      await blocker.commit();
      await Promise.allSettled([writing, claim]);
    }
    await writing;
    assert.ok((await claim!) > epoch, 'the new holder has a newer epoch');
    assert.equal(await storedKey('kiosk'), 'key by w1', 'what the old holder wrote before the claim is there for the new one');
    await assert.rejects(holder.writeKeys(key('late key by w1')), LeaseLostError);
  });
}

test('a refused write is not retried: credentials and keys give up at once, and later changes are not written', async () => {
  const epoch = await claimLease(db, 'shop', 'w3', 'q3');
  const stale = createAuthStore(db, 'shop', { epoch: epoch - 1 });
  let attempts = 0;
  const counting = {
    ...stale,
    writeKeys: (changes: Parameters<typeof stale.writeKeys>[0]) => {
      attempts++;
      return stale.writeKeys(changes);
    },
  };
  const keys = new SessionKeys(counting);
  await keys.set({ session: { '905550000001.0': Buffer.from('stale') } as never });
  await assert.rejects(keys.persisted(), LeaseLostError);
  await keys.set({ session: { '905550000002.0': Buffer.from('later') } as never });
  await sleep(600);
  assert.equal(attempts, 1);

  let credWrites = 0;
  const creds = new SessionCreds(() => {
    credWrites++;
    return stale.writeCreds('stale creds');
  });
  await assert.rejects(creds.save(), LeaseLostError);
  const started = Date.now();
  await creds.finish(5_000);
  assert.ok(Date.now() - started < 1_000, 'finish does not wait for retries that cannot land');
  await creds.save();
  assert.equal(credWrites, 1);
  assert.notEqual(await storedCreds('shop'), 'stale creds');
});

test('clearing a logged-out instance (the API, no lease) removes its credentials and keys', async () => {
  const epoch = await claimLease(db, 'kiosk', 'w1', 'q1');
  const store = createAuthStore(db, 'kiosk', { epoch });
  await store.writeCreds('creds to forget');
  await store.writeKeys(key('key to forget'));
  await db('session_leases').where({ instance_id: 'kiosk' }).delete();
  await clearSessionAuth(db, 'kiosk');
  assert.equal(await storedCreds('kiosk'), undefined);
  assert.equal(await storedKey('kiosk'), undefined);
});

test('an epoch is never handed out twice, even after the lease row was deleted (a session ended, a logout)', async () => {
  const first = await claimLease(db, 'kiosk', 'w1', 'q1');
  const zombie = createAuthStore(db, 'kiosk', { epoch: first });
  await claimLease(db, 'kiosk', 'w2', 'q2');
  // The session ends (or the API logs it out): the lease row goes; the next connect claims afresh.
  await db('session_leases').where({ instance_id: 'kiosk' }).delete();
  const next = await claimLease(db, 'kiosk', 'w3', 'q3');
  assert.notEqual(next, first);
  await assert.rejects(zombie.writeCreds('creds of a holder presumed dead long ago'), LeaseLostError);
  assert.deepEqual([...(await renewLeases(db, [{ instanceId: 'kiosk', epoch: first }]))], [], 'the old holder cannot renew either');
  assert.deepEqual(
    [
      ...(await renewLeases(db, [
        { instanceId: 'kiosk', epoch: next },
        { instanceId: 'gone', epoch: next },
      ])),
    ],
    ['kiosk'],
  );
});
