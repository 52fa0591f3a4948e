// Group commit: concurrent submissions share a batch; a failing batch is retried item by item.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Coalescer } from '../db/coalescer.js';

test('a lone item runs at once; items arriving while batches run go together, in order', async () => {
  const batches: number[][] = [];
  let release!: () => void;
  let gate = new Promise<void>((resolve) => (release = resolve));
  const c = new Coalescer<number, number>(
    async (items) => {
      batches.push(items);
      await gate;
      return items.map((n) => n * 10);
    },
    { parallel: 1 },
  );
  const first = c.submit(1);
  const rest = [2, 3, 4].map((n) => c.submit(n));
  assert.deepEqual(batches, [[1]]);
  release();
  gate = Promise.resolve();
  assert.deepEqual(await Promise.all([first, ...rest]), [10, 20, 30, 40]);
  assert.deepEqual(batches, [[1], [2, 3, 4]]);
});

test('maxBatch splits a long queue; parallel batches run side by side', async () => {
  const batches: number[][] = [];
  let running = 0;
  let most = 0;
  const c = new Coalescer<number, number>(
    async (items) => {
      batches.push(items);
      most = Math.max(most, ++running);
      await new Promise((resolve) => setTimeout(resolve, 5));
      running--;
      return items;
    },
    { maxBatch: 3, parallel: 2 },
  );
  const all = await Promise.all(Array.from({ length: 10 }, (_, i) => c.submit(i)));
  assert.deepEqual(all, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.ok(batches.every((b) => b.length <= 3));
  assert.equal(most, 2);
});

test('when a batch fails, each item is tried alone: only the bad one fails', async () => {
  const c = new Coalescer<number, number>(
    async (items) => {
      if (items.includes(13)) throw new Error('thirteen');
      return items;
    },
    { parallel: 1 },
  );
  const blocker = c.submit(0);
  const results = await Promise.allSettled([blocker, c.submit(12), c.submit(13), c.submit(14)]);
  assert.deepEqual(
    results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message)),
    [0, 12, 'thirteen', 14],
  );
});
