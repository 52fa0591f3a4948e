/**
 * Starts webhook delivery where no drain runs: new events NOTIFY
 * WEBHOOK_CHANNEL (migration 010); for an instance whose delivery is neither
 * running nor backing off, the dispatcher signals its workflow (starting it if
 * need be). While a drain runs it takes the NOTIFYs itself, so a burst costs
 * no signal per event.
 *
 * Why no event is stranded: a drain clears its flag before its last look for
 * pending events, and the dispatcher reads the flag only after the NOTIFY,
 * that is after the event committed; so either the dispatcher sees the flag
 * cleared and signals, or the drain's last look sees the event.
 *
 * A sweep every minute (and after the listener reconnects, when NOTIFYs may
 * have been lost) wakes every instance with due events and no delivery
 * running, fails events whose retry window ended and prunes the log.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { WEBHOOK_CHANNEL, expireEvents, instancesToWake, needingWake, pruneDeliveries } from '../db/webhooks.js';
import type { PgListener } from '../db/pgListener.js';
import type { Arrivals } from '../db/arrivals.js';

export interface DispatcherDeps {
  db: Db;
  listener: PgListener;
  /** The drains of this process: an instance they watch needs no signal. */
  arrivals: Arrivals;
  wake: (instanceId: string) => Promise<void>;
  logger: Logger;
  retryWindowMs: number;
  retentionMs: number;
  sweepEveryMs?: number;
}

export class WebhookDispatcher {
  private readonly heard = new Set<string>();
  private dispatching: Promise<void> | undefined;
  private sweeping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly unsubscribe: Array<() => void> = [];

  constructor(private readonly deps: DispatcherDeps) {}

  start(): void {
    this.unsubscribe.push(
      this.deps.listener.on(WEBHOOK_CHANNEL, (instanceId) => this.hear(instanceId)),
      this.deps.listener.onReconnect(() => void this.sweep()),
    );
    this.timer = setInterval(() => void this.sweep(), this.deps.sweepEveryMs ?? 60_000);
    this.timer.unref();
    void this.sweep();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    for (const off of this.unsubscribe) off();
    await Promise.allSettled([this.dispatching, this.sweeping]);
  }

  private hear(instanceId: string): void {
    if (this.deps.arrivals.watching(instanceId)) return;
    this.heard.add(instanceId);
    this.dispatching ??= this.dispatch();
  }

  /** Instances heard meanwhile go together in the next round: one query, then one signal each that needs it. */
  private async dispatch(): Promise<void> {
    try {
      while (this.heard.size > 0) {
        const ids = [...this.heard];
        this.heard.clear();
        try {
          const wanted = await needingWake(this.deps.db, ids);
          await Promise.all(wanted.map((id) => this.wakeLogged(id)));
        } catch (err) {
          // The sweep wakes them within a minute.
          this.deps.logger.warn({ err }, 'dispatching webhook events failed');
        }
      }
    } finally {
      this.dispatching = undefined;
    }
  }

  private wakeLogged(instanceId: string): Promise<void> {
    return this.deps.wake(instanceId).catch((err) => this.deps.logger.warn({ err, instanceId }, 'waking webhook delivery failed'));
  }

  sweep(): Promise<void> {
    this.sweeping ??= (async () => {
      try {
        const expired = await expireEvents(this.deps.db, this.deps.retryWindowMs);
        const pruned = await pruneDeliveries(this.deps.db, this.deps.retentionMs);
        if (expired + pruned > 0) this.deps.logger.info({ expired, pruned }, 'webhook log maintenance');
        for (const id of await instancesToWake(this.deps.db)) await this.wakeLogged(id);
      } catch (err) {
        this.deps.logger.warn({ err }, 'webhook sweep failed');
      } finally {
        this.sweeping = undefined;
      }
    })();
    return this.sweeping;
  }
}
