// The Signal key cache in front of the session store: what it reads, when it writes, and its durability barrier.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SessionKeys } from '../whatsapp/baileys/authState.js';
import type { AuthStore } from '../whatsapp/session.js';

/** A store that records every call and can be held or made to fail. */
function recordingStore() {
  const rows = new Map<string, string>();
  const calls = { reads: [] as string[][], writes: [] as Array<Array<{ type: string; id: string; value: string | null }>> };
  let gate: Promise<void> = Promise.resolve();
  let failWith: Error | undefined;
  const store: AuthStore = {
    readCreds: async () => null,
    writeCreds: async () => {},
    async readKeys(type, ids) {
      calls.reads.push(ids.map((id) => `${type}:${id}`));
      const snapshot = Object.fromEntries(ids.flatMap((id) => (rows.has(`${type}:${id}`) ? [[id, rows.get(`${type}:${id}`)!]] : [])));
      await gate;
      return snapshot;
    },
    async writeKeys(changes) {
      calls.writes.push(changes);
      await gate;
      if (failWith) throw failWith;
      for (const c of changes) c.value === null ? rows.delete(`${c.type}:${c.id}`) : rows.set(`${c.type}:${c.id}`, c.value);
    },
    clear: async () => rows.clear(),
  };
  let open!: () => void;
  return {
    store,
    rows,
    calls,
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => open(),
    fail: (err: Error | undefined) => (failWith = err),
  };
}

const session = (n: number) => ({ [`905550000${n}.0`]: Buffer.from(`record ${n}`) }) as never;

test('keys read once stay cached, absent keys included', async () => {
  const s = recordingStore();
  s.rows.set('session:a', JSON.stringify({ x: 1 }));
  const keys = new SessionKeys(s.store);
  assert.deepEqual(await keys.get('session', ['a', 'b']), { a: { x: 1 } });
  assert.deepEqual(await keys.get('session', ['a', 'b']), { a: { x: 1 } });
  assert.deepEqual(s.calls.reads, [['session:a', 'session:b']]);
});

test('writes land behind, and changes made during a write go together in the next', async () => {
  const s = recordingStore();
  const keys = new SessionKeys(s.store);
  s.hold();
  await keys.set({ session: session(1) });
  // The first write is under way (held); these wait and are merged.
  await keys.set({ session: session(2) });
  await keys.set({ session: session(3) });
  await keys.set({ session: { '9055500002.0': Buffer.from('newer') } as never });
  // Written or not, the cache answers at once.
  assert.equal((await keys.get('session', ['9055500002.0']))['9055500002.0']!.toString(), 'newer');
  const stored = keys.persisted();
  s.release();
  await stored;
  assert.equal(s.calls.writes.length, 2);
  assert.deepEqual(
    s.calls.writes[1]!.map((c) => c.id),
    ['9055500002.0', '9055500003.0'],
  );
  assert.equal(s.rows.size, 3);
  assert.deepEqual(s.calls.reads, []);
});

test('persisted() rejects while the store fails, and the changes are written once it recovers', async () => {
  const s = recordingStore();
  const keys = new SessionKeys(s.store);
  s.fail(new Error('database down'));
  await keys.set({ session: session(1) });
  await assert.rejects(keys.persisted(), /database down/);
  s.fail(undefined);
  await keys.persisted();
  assert.ok(s.rows.has('session:9055500001.0'));
  assert.ok(s.calls.writes.length >= 2);
});

test('a delete is a write of null, and the key is then known absent', async () => {
  const s = recordingStore();
  s.rows.set('pre-key:7', JSON.stringify({ k: 7 }));
  const keys = new SessionKeys(s.store);
  await keys.set({ 'pre-key': { '7': null } });
  assert.deepEqual(await keys.get('pre-key', ['7']), {});
  await keys.persisted();
  assert.equal(s.rows.has('pre-key:7'), false);
  assert.deepEqual(s.calls.reads, []);
});

test('a value set while a read of it is under way is not overwritten by the older stored one', async () => {
  const s = recordingStore();
  s.rows.set('session:a', JSON.stringify('old'));
  const keys = new SessionKeys(s.store, 1);
  s.hold();
  const reading = keys.get('session', ['a']);
  await keys.set({ session: { a: 'new' } as never });
  s.release();
  // The read began before the set: it may answer either, but the cache must keep the newer value.
  await reading;
  await keys.persisted();
  assert.deepEqual(await keys.get('session', ['a']), { a: 'new' });
  assert.equal(s.rows.get('session:a'), JSON.stringify('new'));
});

test('the cache stays within its bound, never dropping an unwritten change', async () => {
  const s = recordingStore();
  const keys = new SessionKeys(s.store, 2);
  s.hold();
  for (let n = 1; n <= 5; n++) await keys.set({ session: session(n) });
  // Nothing is written yet, so nothing was dropped: every value is answered without a read.
  for (let n = 1; n <= 5; n++) assert.equal((await keys.get('session', [`905550000${n}.0`]))[`905550000${n}.0`]!.toString(), `record ${n}`);
  assert.deepEqual(s.calls.reads, []);
  s.release();
  await keys.persisted();
  assert.equal(s.rows.size, 5);
  // Stored now: the next value cached pushes the older ones out, and they are read from the store again.
  await keys.set({ session: session(6) });
  await keys.persisted();
  assert.equal((await keys.get('session', ['9055500001.0']))['9055500001.0']!.toString(), 'record 1');
  assert.deepEqual(s.calls.reads, [['session:9055500001.0']]);
});

test('discard() forgets unwritten changes (a logged-out account)', async () => {
  const s = recordingStore();
  const keys = new SessionKeys(s.store);
  s.hold();
  await keys.set({ session: session(1) });
  await keys.set({ session: session(2) });
  const discarded = keys.discard();
  s.release();
  await discarded;
  // The write under way finished; the change queued behind it was dropped.
  assert.deepEqual([...s.rows.keys()], ['session:9055500001.0']);
  await keys.set({ session: session(3) });
  assert.equal(s.calls.writes.length, 1);
});

test('finish() stores what is pending and stops; on a store that never recovers it gives up at its deadline and stops retrying', async () => {
  const ok = recordingStore();
  const kept = new SessionKeys(ok.store);
  await kept.set({ session: session(1) });
  await kept.finish(1_000);
  assert.ok(ok.rows.has('session:9055500001.0'));
  await kept.set({ session: session(2) });
  assert.equal(ok.calls.writes.length, 1, 'a set after the end is not written');

  const down = recordingStore();
  down.fail(new Error('database down'));
  const lost = new SessionKeys(down.store);
  // Held: the write neither lands nor fails before the deadline.
  down.hold();
  await lost.set({ session: session(1) });
  await assert.rejects(lost.finish(300), /keys were not stored within 300 ms/);
  down.release();
  await new Promise((resolve) => setTimeout(resolve, 1_500));
  const attempts = down.calls.writes.length;
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  assert.equal(down.calls.writes.length, attempts, 'no retries once the session ended');
  assert.equal(down.rows.size, 0);
});
