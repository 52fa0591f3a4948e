/**
 * How sessions spread over the session workers: each worker's share, where a
 * session goes, and how many a worker holding too many hands over. Pure: the
 * workers' loads come from Postgres (db/leases.ts: sessionWorkerLoads).
 */

/** A session worker that is up, and how many sessions it holds. */
export interface Load {
  held: number;
}

/** The most sessions any of `workers` should hold of `total`. */
export const shareOf = (total: number, workers: number): number => Math.ceil(total / Math.max(1, workers));

/**
 * The worker a new session goes to: one of those under their share (counting
 * this session), at random, weighted by its room. Sessions placed at the same
 * moment, from the same counts, spread instead of all going to the emptiest.
 */
export function pickWorker<W extends Load>(loads: readonly W[], random: () => number = Math.random): W | undefined {
  if (loads.length === 0) return undefined;
  const share = shareOf(loads.reduce((n, w) => n + w.held, 0) + 1, loads.length);
  const rooms = loads.map((w) => Math.max(0, share - w.held));
  let left = random() * rooms.reduce((a, b) => a + b, 0);
  for (let i = 0; i < loads.length; i++) {
    left -= rooms[i]!;
    if (left < 0) return loads[i];
  }
  return loads.reduce((a, b) => (b.held < a.held ? b : a));
}

/**
 * How many sessions the worker `me` hands over now: what it holds beyond its
 * share and a tolerance (5 % of the share, at least 1), a third of it at a
 * time (at least `minBatch`), so that the others' counts catch up between rounds.
 */
export function surplusOf<W extends Load>(loads: readonly W[], me: W | undefined, minBatch = 5): number {
  if (!me || loads.length < 2) return 0;
  const share = shareOf(
    loads.reduce((n, w) => n + w.held, 0),
    loads.length,
  );
  const over = me.held - share - Math.max(1, Math.floor(share * 0.05));
  return over > 0 ? Math.min(over, Math.max(minBatch, Math.ceil(over / 3))) : 0;
}
