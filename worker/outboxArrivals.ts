import type { PgListener } from '../lib/pgListener.js';
import { OUTBOX_CHANNEL } from '../db/outbox.js';

export interface ArrivalWatch {
  /** Resolves at the next NOTIFY for the instance (at once if one came since the last call), or after `timeoutMs`. */
  next(timeoutMs: number): Promise<void>;
  /** Forgets the NOTIFYs heard so far (a query about to run will see their messages). */
  clear(): void;
  close(): void;
}

/** New outgoing messages, as NOTIFYed by the API, for the outbox drains of this worker process. */
export class OutboxArrivals {
  private readonly watches = new Map<string, Set<{ notified: boolean; wake?: () => void }>>();

  constructor(listener: PgListener) {
    listener.on(OUTBOX_CHANNEL, (instanceId) => this.notify(instanceId));
    // Notifications sent while the connection was down are lost: every drain looks again.
    listener.onReconnect(() => {
      for (const instanceId of this.watches.keys()) this.notify(instanceId);
    });
  }

  private notify(instanceId: string): void {
    for (const watch of this.watches.get(instanceId) ?? []) {
      watch.notified = true;
      watch.wake?.();
    }
  }

  watch(instanceId: string): ArrivalWatch {
    const watch: { notified: boolean; wake?: () => void } = { notified: false };
    const set = this.watches.get(instanceId) ?? new Set();
    set.add(watch);
    this.watches.set(instanceId, set);
    return {
      next: (timeoutMs) =>
        new Promise<void>((resolve) => {
          if (watch.notified || timeoutMs <= 0) {
            watch.notified = false;
            return resolve();
          }
          const timer = setTimeout(done, timeoutMs);
          function done() {
            clearTimeout(timer);
            watch.wake = undefined;
            watch.notified = false;
            resolve();
          }
          watch.wake = done;
        }),
      clear: () => void (watch.notified = false),
      close: () => {
        set.delete(watch);
        if (set.size === 0) this.watches.delete(instanceId);
      },
    };
  }
}
