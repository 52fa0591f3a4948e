// One real AsyncLocalStorage behind every instance: each keeps its own values, and making more adds no per-promise cost.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { AsyncLocalStorage as NativeAsyncLocalStorage } from 'node:async_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { SharedAsyncLocalStorage, installSharedAsyncLocalStorage } from '../worker/sharedAsyncLocalStorage.js';

/** Properties the promise hooks gave a promise made here: one per enabled real AsyncLocalStorage. */
const hookProperties = () => Object.getOwnPropertySymbols(Promise.resolve()).length;

test('instances keep their own values across awaits, nested and side by side', async () => {
  const a = new SharedAsyncLocalStorage<string>();
  const b = new SharedAsyncLocalStorage<number>();
  assert.equal(a.getStore(), undefined);
  const seen = await Promise.all(
    ['x', 'y'].map((value, i) =>
      a.run(value, async () => {
        await sleep(5 - i * 5);
        const inner = await b.run(i, async () => {
          await sleep(1);
          return [a.getStore(), b.getStore()];
        });
        return [...inner, a.getStore(), b.getStore()];
      }),
    ),
  );
  assert.deepEqual(seen, [
    ['x', 0, 'x', undefined],
    ['y', 1, 'y', undefined],
  ]);
  assert.equal(a.getStore(), undefined);
  // Values reach callbacks scheduled inside run, as with Node's own.
  const later = await a.run('timer', () => new Promise((resolve) => setTimeout(() => resolve(a.getStore()), 1)));
  assert.equal(later, 'timer');
});

test('run passes arguments and returns the callback result; exit hides one instance only', () => {
  const a = new SharedAsyncLocalStorage<string>();
  const b = new SharedAsyncLocalStorage<string>();
  assert.equal(
    a.run('v', (x: number, y: number) => x + y, 2, 3),
    5,
  );
  const inside = a.run('A', () => b.run('B', () => a.exit(() => [a.getStore(), b.getStore()])));
  assert.deepEqual(inside, [undefined, 'B']);
  assert.equal(
    a.run('A', () => a.exit(() => a.getStore()) ?? a.getStore()),
    'A',
  );
});

test('enterWith sets the value for the rest of the current context only', async () => {
  const a = new SharedAsyncLocalStorage<string>();
  const inContext = new Promise((resolve) =>
    setImmediate(async () => {
      a.enterWith('entered');
      await sleep(1);
      resolve(a.getStore());
    }),
  );
  const elsewhere = new Promise((resolve) => setImmediate(() => resolve(a.getStore())));
  assert.deepEqual(await Promise.all([inContext, elsewhere]), ['entered', undefined]);
});

test('disable hides the values until the next run', () => {
  const a = new SharedAsyncLocalStorage<string>();
  a.run('v', () => {
    a.disable();
    assert.equal(a.getStore(), undefined);
  });
  assert.equal(
    a.run('w', () => a.getStore()),
    'w',
  );
});

test('once installed, AsyncLocalStorage from require and import is the shared one; Baileys sockets add no promise hook work', async () => {
  // Node's own: each enabled instance is one more property on every promise.
  const natives = Array.from({ length: 5 }, () => new NativeAsyncLocalStorage());
  const before = hookProperties();
  for (const als of natives) als.run({}, () => {});
  assert.equal(hookProperties(), before + 5);

  installSharedAsyncLocalStorage();
  const require = createRequire(import.meta.url);
  assert.equal(require('node:async_hooks').AsyncLocalStorage, SharedAsyncLocalStorage);
  assert.equal((await import('node:async_hooks')).AsyncLocalStorage, SharedAsyncLocalStorage);

  // What each Baileys socket makes for its key store (Socket/socket.js); 20 sockets, each in a transaction.
  const { addTransactionCapability } = await import('@whiskeysockets/baileys');
  const data = new Map<string, unknown>();
  const store = {
    get: async (type: string, ids: string[]) =>
      Object.fromEntries(ids.flatMap((id) => (data.has(`${type}:${id}`) ? [[id, data.get(`${type}:${id}`)]] : []))),
    set: async (changes: Record<string, Record<string, unknown>>) => {
      for (const [type, entries] of Object.entries(changes))
        for (const [id, value] of Object.entries(entries)) data.set(`${type}:${id}`, value);
    },
  };
  const shared = new SharedAsyncLocalStorage();
  shared.run(1, () => {});
  const withOne = hookProperties();
  const sockets = Array.from({ length: 20 }, () =>
    addTransactionCapability(store as never, pino({ level: 'silent' }) as never, { maxCommitRetries: 1, delayBetweenTriesMs: 1 }),
  );
  const inside = await Promise.all(
    sockets.map((keys, i) =>
      keys.transaction(async () => {
        await keys.set({ session: { [`peer${i}`]: Buffer.from([i]) } } as never);
        await sleep(1);
        return [keys.isInTransaction(), hookProperties()];
      }, `key${i}`),
    ),
  );
  assert.ok(inside.every(([inTransaction]) => inTransaction === true));
  // Each transaction committed its own write to the store, none leaked into another's.
  assert.deepEqual([...data.keys()].sort(), Array.from({ length: 20 }, (_, i) => `session:peer${i}`).sort());
  assert.ok(
    inside.every(([, properties]) => properties === withOne),
    `promise hook properties: ${inside.map(([, p]) => p).join(', ')} (expected ${withOne})`,
  );
  assert.equal(hookProperties(), withOne);
});
