// The send look-ahead's rules on their own: a bounded window, order per key, failures handed out in turn.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LookAhead, Slots } from '../activities/lookAhead.js';

/** Preparations that end when the test says so. */
function controlled() {
  const pending = new Map<string, { resolve: (v: string) => void; reject: (e: Error) => void }>();
  const started: string[] = [];
  const prepare = (item: { id: string; key: string }) =>
    new Promise<string>((resolve, reject) => {
      started.push(item.id);
      pending.set(item.id, { resolve, reject });
    });
  return {
    prepare,
    started,
    finish: (id: string) => pending.get(id)!.resolve(`prepared ${id}`),
    fail: (id: string) => pending.get(id)!.reject(new Error(`no ${id}`)),
  };
}
const tick = () => new Promise((resolve) => setImmediate(resolve));

test('only the first items of the window are prepared, and the window moves as items are taken', async () => {
  const c = controlled();
  const queue = new LookAhead(c.prepare, 3);
  queue.add(['a', 'b', 'c', 'd', 'e'].map((id) => ({ id, key: id })));
  await tick();
  assert.deepEqual(c.started, ['a', 'b', 'c']);
  assert.equal(queue.take(), undefined);
  c.finish('b');
  await queue.settled();
  assert.equal(queue.take()?.item.id, 'b');
  await tick();
  assert.deepEqual(c.started, ['a', 'b', 'c', 'd']);
  assert.deepEqual(
    queue.waiting().map((i) => i.id),
    ['a', 'c', 'd', 'e'],
  );
});

test('an item waits for the earlier items of its key; items of other keys pass them', async () => {
  const c = controlled();
  const queue = new LookAhead(c.prepare, 10);
  queue.add([
    { id: 'bob-1', key: 'bob' },
    { id: 'carol-1', key: 'carol' },
    { id: 'bob-2', key: 'bob' },
  ]);
  await tick();
  c.finish('bob-2');
  c.finish('carol-1');
  await tick();
  assert.equal(queue.take()?.item.id, 'carol-1');
  // bob-2 is ready but bob-1 is not.
  assert.equal(queue.ready(), false);
  c.fail('bob-1');
  await queue.settled();
  const failed = queue.take();
  assert.equal(failed?.item.id, 'bob-1');
  assert.equal(failed?.prepared.ok, false);
  assert.match(String(!failed?.prepared.ok && failed?.prepared.error), /no bob-1/);
  assert.deepEqual(queue.take()?.prepared, { ok: true, value: 'prepared bob-2' });
  assert.equal(queue.size, 0);
});

test('a preparation that throws at once is handed out as a failure, not thrown', async () => {
  const queue = new LookAhead<{ key: string }, never>(() => {
    throw new Error('at once');
  }, 2);
  queue.add([{ key: 'x' }]);
  await queue.settled();
  await tick();
  const taken = queue.take();
  assert.equal(taken?.prepared.ok, false);
});

test('slots run at most their number of tasks at a time, in arrival order', async () => {
  const slots = new Slots(2);
  const running = new Set<number>();
  let most = 0;
  const order: number[] = [];
  await Promise.all(
    [0, 1, 2, 3, 4, 5].map((n) =>
      slots.run(async () => {
        running.add(n);
        most = Math.max(most, running.size);
        order.push(n);
        await new Promise((resolve) => setTimeout(resolve, 5 + (n % 3)));
        running.delete(n);
      }),
    ),
  );
  assert.equal(most, 2);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5]);
});
