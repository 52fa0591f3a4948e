/**
 * The live end of the event log in one API process: whatever the number of
 * open streams, one reader follows the log and hands each new event to the
 * streams that want it.
 *
 * Every transaction that records events NOTIFYs `wa_events` (migration 023);
 * the hub then reads what is new in pages, once for all its streams. An event
 * can be committed and still not readable, held behind an older transaction
 * still running (db/eventLog.ts): then the hub looks again shortly, backing
 * off up to a second, until it is. It reads nothing while no stream is open,
 * and looks once a minute, and after its listener reconnects, in case a
 * notification was lost.
 */
import type { Logger } from 'pino';
import type { Db } from '../../db/knex.js';
import type { PgListener } from '../../db/pgListener.js';
import { EVENTS_CHANNEL, type Cursor, type LoggedEvent, headCursor, readEvents } from '../../db/eventLog.js';

export interface HubSubscriber {
  /** Called with the new events in order, once per page read. */
  deliver(events: LoggedEvent[]): void;
  /** The process stops: end the stream (the client resumes elsewhere). */
  goingAway(): void;
}

export interface EventHubOptions {
  pageSize?: number;
  /** How often to look with no notification (ms). */
  fallbackMs?: number;
}

export class EventHub {
  private readonly subscribers = new Set<HubSubscriber>();
  /** Every event up to here was handed out; undefined while nobody listens. */
  private position: Cursor | undefined;
  private starting: Promise<Cursor> | undefined;
  private reading: Promise<void> | undefined;
  private again = false;
  private heldTimer: NodeJS.Timeout | undefined;
  private heldDelayMs = 0;
  private fallback: NodeJS.Timeout | undefined;
  private readonly unsubscribe: Array<() => void> = [];
  private readonly pageSize: number;

  constructor(
    private readonly db: Db,
    private readonly listener: PgListener,
    private readonly logger: Logger,
    private readonly options: EventHubOptions = {},
  ) {
    this.pageSize = options.pageSize ?? 500;
  }

  start(): void {
    this.unsubscribe.push(
      this.listener.on(EVENTS_CHANNEL, () => this.read()),
      this.listener.onReconnect(() => this.read()),
    );
    this.fallback = setInterval(() => this.read(), this.options.fallbackMs ?? 60_000);
    this.fallback.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.fallback);
    clearTimeout(this.heldTimer);
    for (const off of this.unsubscribe) off();
    for (const subscriber of [...this.subscribers]) subscriber.goingAway();
    this.subscribers.clear();
    await this.reading;
  }

  get size(): number {
    return this.subscribers.size;
  }

  /**
   * Adds a subscriber; resolves with the hub's position then: every event
   * after it reaches `deliver`, none before it does.
   */
  async subscribe(subscriber: HubSubscriber): Promise<Cursor> {
    if (!this.position) {
      this.starting ??= headCursor(this.db).finally(() => (this.starting = undefined));
      const head = await this.starting;
      this.position ??= head;
    }
    this.subscribers.add(subscriber);
    return this.position;
  }

  unsubscribeOne(subscriber: HubSubscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) this.position = undefined;
  }

  /** Where the hub is: every event up to here was handed out (undefined while nobody listens). */
  get current(): Cursor | undefined {
    return this.position;
  }

  private read(): void {
    if (!this.position) return;
    this.again = true;
    this.reading ??= this.readAll().finally(() => (this.reading = undefined));
  }

  private async readAll(): Promise<void> {
    let held = false;
    while (this.again && this.position) {
      this.again = false;
      try {
        for (;;) {
          const from = this.position;
          if (!from) return;
          const page = await readEvents(this.db, { after: from, limit: this.pageSize });
          // Everyone left meanwhile, or a new start: what was read belongs to no one.
          if (this.position !== from) break;
          this.position = page.through;
          if (page.events.length > 0) this.handOut(page.events);
          held = page.held;
          if (page.events.length < this.pageSize) break;
        }
      } catch (err) {
        this.logger.warn({ err }, 'reading the event log failed; looking again');
        held = true;
        break;
      }
    }
    // Events waiting behind a transaction still open (or a read that failed): no notification is to come.
    if (held && this.position) this.lookAgain();
    else this.heldDelayMs = 0;
  }

  /** Looks again soon, then less often, up to every second. */
  private lookAgain(): void {
    this.heldDelayMs = Math.min(1_000, Math.max(20, this.heldDelayMs * 2));
    clearTimeout(this.heldTimer);
    this.heldTimer = setTimeout(() => this.read(), this.heldDelayMs);
    this.heldTimer.unref();
  }

  private handOut(events: LoggedEvent[]): void {
    for (const subscriber of this.subscribers) {
      try {
        subscriber.deliver(events);
      } catch (err) {
        this.logger.warn({ err }, 'an event stream failed to take events');
      }
    }
  }
}
