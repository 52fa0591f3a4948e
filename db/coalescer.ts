/**
 * Group commit for concurrent callers: each `submit` joins the next batch,
 * and `run` handles a whole batch at once (one statement, one round trip,
 * one commit for all of them). At most `parallel` batches run at a time;
 * items arriving meanwhile wait and go together in the next, so a lone
 * caller never waits and a busy moment costs one round trip per batch
 * instead of one per item. When a batch fails, its items are tried again
 * one by one, so a bad item fails only its own caller.
 */
export class Coalescer<I, O> {
  private queue: Array<{ item: I; resolve: (out: O) => void; reject: (err: unknown) => void }> = [];
  private running = 0;

  constructor(
    /** Handles a batch; returns one result per item, in order. */
    private readonly run: (items: I[]) => Promise<O[]>,
    private readonly options: { maxBatch?: number; parallel?: number } = {},
  ) {}

  submit(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.next();
    });
  }

  private next(): void {
    if (this.queue.length === 0 || this.running >= (this.options.parallel ?? 2)) return;
    const batch = this.queue.splice(0, this.options.maxBatch ?? 100);
    this.running++;
    this.run(batch.map((entry) => entry.item))
      .then(
        (results) => batch.forEach((entry, i) => entry.resolve(results[i]!)),
        async (err) => {
          if (batch.length === 1) return batch[0]!.reject(err);
          await Promise.all(batch.map((entry) => this.run([entry.item]).then(([result]) => entry.resolve(result!), entry.reject)));
        },
      )
      .finally(() => {
        this.running--;
        this.next();
      });
  }
}

/**
 * Coalescers made on first use, one per owner (a database handle, say) and
 * key, so every caller in the process sharing them shares their batches.
 */
export function coalescersBy<Owner extends object, I, O>(make: (owner: Owner, key: string) => Coalescer<I, O>) {
  const made = new WeakMap<Owner, Map<string, Coalescer<I, O>>>();
  return (owner: Owner, key = ''): Coalescer<I, O> => {
    let byKey = made.get(owner);
    if (!byKey) made.set(owner, (byKey = new Map()));
    let coalescer = byKey.get(key);
    if (!coalescer) byKey.set(key, (coalescer = make(owner, key)));
    return coalescer;
  };
}
