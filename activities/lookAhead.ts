/**
 * Items in send order, each prepared ahead of its turn (for a message: its
 * media fetched and uploaded), so that one slow preparation holds back only
 * the items behind it with the same key (the same recipient), not the rest.
 *
 * The first `window` items not yet taken are being prepared (or are
 * prepared); `take` hands out the first one that is prepared and has no
 * earlier item of its key still waiting. Items are taken one at a time, so
 * the order among the items of one key is the order they were added in.
 */
export class LookAhead<T extends { key: string }, P> {
  private readonly items: Array<Entry<T, P>> = [];
  private wake: (() => void) | undefined;

  constructor(
    private readonly prepare: (item: T) => Promise<P>,
    private readonly window: number,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** The items not taken yet, in order. */
  waiting(): T[] {
    return this.items.map((entry) => entry.item);
  }

  add(items: T[]): void {
    for (const item of items) this.items.push({ item });
    this.fill();
  }

  /** Whether an item may go now. */
  ready(): boolean {
    return this.next() >= 0;
  }

  /** The first item that may go now with its preparation's outcome, or undefined (none is ready). */
  take(): { item: T; prepared: Settled<P> } | undefined {
    const i = this.next();
    if (i < 0) return undefined;
    const [entry] = this.items.splice(i, 1);
    this.fill();
    return { item: entry!.item, prepared: entry!.settled! };
  }

  private next(): number {
    const blocked = new Set<string>();
    for (let i = 0; i < this.items.length; i++) {
      const entry = this.items[i]!;
      if (blocked.has(entry.item.key)) continue;
      if (entry.settled) return i;
      blocked.add(entry.item.key);
    }
    return -1;
  }

  /** Resolves when a preparation under way ends (at once if none is under way). */
  settled(): Promise<void> {
    if (!this.items.some((entry) => entry.started && !entry.settled)) return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  private fill(): void {
    for (const entry of this.items.slice(0, this.window)) {
      if (entry.started) continue;
      entry.started = true;
      // A preparation never rejects here: its failure is handed out with the item, in its turn.
      void Promise.resolve(entry.item)
        .then(this.prepare)
        .then(
          (value): Settled<P> => ({ ok: true, value }),
          (error: unknown): Settled<P> => ({ ok: false, error }),
        )
        .then((settled) => {
          entry.settled = settled;
          const wake = this.wake;
          this.wake = undefined;
          wake?.();
        });
    }
  }
}

export type Settled<P> = { ok: true; value: P } | { ok: false; error: unknown };

interface Entry<T, P> {
  item: T;
  started?: boolean;
  settled?: Settled<P>;
}

/** At most `max` tasks at a time; the others wait their turn, first come first served. */
export class Slots {
  private running = 0;
  private readonly queue: Array<() => void> = [];

  constructor(private readonly max: number) {}

  async run<R>(task: () => Promise<R>): Promise<R> {
    if (this.running >= this.max) await new Promise<void>((resolve) => this.queue.push(resolve));
    else this.running++;
    try {
      return await task();
    } finally {
      // The slot passes straight to the next waiter, or is freed.
      const next = this.queue.shift();
      if (next) next();
      else this.running--;
    }
  }
}
