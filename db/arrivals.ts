import type { PgListener } from './pgListener.js';

export interface ArrivalWatch {
  /** Resolves once a NOTIFY for the instance came since the last clear() (at once if one did), or after `timeoutMs`. */
  next(timeoutMs: number): Promise<void>;
  /** Whether a NOTIFY came since the last clear(). */
  notified(): boolean;
  /** Forgets the NOTIFYs heard so far (a query about to run will see their messages). */
  clear(): void;
  close(): void;
}

interface Watch {
  notified: boolean;
  waiters: Set<() => void>;
}

/**
 * NOTIFYs on one channel whose payload is an instance id, for the drains of
 * this worker process: new outgoing messages (OUTBOX_CHANNEL) for outbox
 * drains, new events (WEBHOOK_CHANNEL) for webhook deliveries.
 */
export class Arrivals {
  private readonly watches = new Map<string, Set<Watch>>();

  /** `instanceOf`: the instance a payload is about (the payload itself by default). */
  constructor(listener: PgListener, channel: string, instanceOf: (payload: string) => string = (payload) => payload) {
    listener.on(channel, (payload) => this.notify(instanceOf(payload)));
    // Notifications sent while the connection was down are lost: every drain looks again.
    listener.onReconnect(() => {
      for (const instanceId of this.watches.keys()) this.notify(instanceId);
    });
  }

  private notify(instanceId: string): void {
    for (const watch of this.watches.get(instanceId) ?? []) {
      watch.notified = true;
      for (const wake of [...watch.waiters]) wake();
    }
  }

  /** Whether a drain of this process is watching the instance. */
  watching(instanceId: string): boolean {
    return this.watches.has(instanceId);
  }

  watch(instanceId: string): ArrivalWatch {
    const watch: Watch = { notified: false, waiters: new Set() };
    const set = this.watches.get(instanceId) ?? new Set();
    set.add(watch);
    this.watches.set(instanceId, set);
    return {
      next: (timeoutMs) =>
        new Promise<void>((resolve) => {
          if (watch.notified || timeoutMs <= 0) return resolve();
          const done = () => {
            clearTimeout(timer);
            watch.waiters.delete(done);
            resolve();
          };
          const timer = setTimeout(done, timeoutMs);
          watch.waiters.add(done);
        }),
      notified: () => watch.notified,
      clear: () => void (watch.notified = false),
      close: () => {
        for (const wake of [...watch.waiters]) wake();
        set.delete(watch);
        if (set.size === 0) this.watches.delete(instanceId);
      },
    };
  }
}
