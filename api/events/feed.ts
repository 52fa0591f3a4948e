/**
 * One event stream, whatever carries it (SSE or a WebSocket): the events of
 * an instance (or all), of some types (or all), in the log's order, each
 * once.
 *
 * Resuming after a cursor: the stream first reads the log from there (as fast
 * as the client takes it), and switches to the hub's live events once it has
 * read as far as the hub has handed out. Live events that arrive while it
 * reads are dropped, since the log holds them; an event both read and handed
 * out live is sent once, by its cursor. A client that does not keep up with
 * live events is cut off with the cursor to resume from, rather than buffered
 * without bound.
 */
import type { Db } from '../../db/knex.js';
import { type Cursor, type LoggedEvent, compareCursors, readEvents } from '../../db/eventLog.js';
import type { EventHub, HubSubscriber } from './hub.js';
import { eventStreams, streamedEvents, streamsCut } from '../../lib/metrics.js';

/** Resolves once `stream` has nothing left to write, or has closed. */
export function untilDrained(stream: NodeJS.EventEmitter & { writableLength: number; destroyed: boolean }): Promise<void> {
  return new Promise((resolve) => {
    if (stream.writableLength === 0 || stream.destroyed) return resolve();
    const done = () => {
      stream.off('drain', done);
      stream.off('close', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
  });
}

export interface FeedFilter {
  instanceId: string | null;
  types: ReadonlySet<string> | null;
}

/** What a transport does for a feed. */
export interface FeedTransport {
  /** For the metrics. */
  kind: 'sse' | 'websocket';
  send(event: LoggedEvent): void;
  /** Every event up to `cursor` was sent or filtered out (SSE sends an `id:`). */
  mark(cursor: Cursor): void;
  /** Bytes written but not yet taken by the client. */
  buffered(): number;
  /** Resolves once the client took what was written (or the stream closed): `untilDrained` of its socket. */
  drained(): Promise<void>;
  cut(reason: string, resumeFrom: Cursor): void;
  /** The server stops. */
  end(): void;
}

export interface FeedOptions {
  after: Cursor | null;
  /** Live events buffered beyond this many bytes cut the stream off. */
  maxBufferBytes: number;
  pageSize?: number;
}

export class Feed implements HubSubscriber {
  private live = false;
  private closed = false;
  /** Every event up to here was sent or filtered out. */
  private through: Cursor = { txid: 0n, seq: 0n };
  private marked: Cursor | undefined;

  constructor(
    private readonly db: Db,
    private readonly hub: EventHub,
    private readonly filter: FeedFilter,
    private readonly transport: FeedTransport,
    private readonly options: FeedOptions,
  ) {
    eventStreams.inc({ transport: transport.kind });
  }

  private send(event: LoggedEvent): void {
    streamedEvents.inc({ transport: this.transport.kind });
    this.transport.send(event);
  }

  /** Subscribes, then replays from `after` when given; resolves once live. */
  async start(): Promise<void> {
    const hubAt = await this.hub.subscribe(this);
    if (this.closed) return this.hub.unsubscribeOne(this);
    if (!this.options.after) {
      this.through = hubAt;
      this.live = true;
      this.markNow();
      return;
    }
    this.through = this.options.after;
    const limit = this.options.pageSize ?? 500;
    const types = this.filter.types ? [...this.filter.types] : null;
    while (!this.closed) {
      const page = await readEvents(this.db, { after: this.through, limit, instanceId: this.filter.instanceId, types });
      if (this.closed) return;
      for (const event of page.events) this.send(event);
      this.through = page.through;
      if (this.transport.buffered() > this.options.maxBufferBytes / 2) await this.transport.drained();
      const current = this.hub.current;
      if (page.events.length < limit && current && compareCursors(this.through, current) >= 0) {
        this.live = true;
        this.markNow();
        return;
      }
    }
  }

  deliver(events: LoggedEvent[]): void {
    if (!this.live || this.closed) return;
    for (const event of events) {
      if (compareCursors(event.cursor, this.through) <= 0) continue;
      this.through = event.cursor;
      if (this.filter.instanceId && event.instanceId !== this.filter.instanceId) continue;
      if (this.filter.types && !this.filter.types.has(event.event)) continue;
      this.send(event);
      this.marked = event.cursor;
      if (this.transport.buffered() > this.options.maxBufferBytes) {
        // Everything up to this event was written, and goes out if the client reads on.
        this.close();
        streamsCut.inc();
        this.transport.cut(`the client did not keep up: more than ${this.options.maxBufferBytes} bytes waited for it`, event.cursor);
        return;
      }
    }
  }

  /** Tells the client how far the stream went (at each heartbeat): a resume need not read again what it filtered out. */
  markNow(): void {
    if (!this.live || this.closed) return;
    if (this.marked && compareCursors(this.marked, this.through) === 0) return;
    this.marked = this.through;
    this.transport.mark(this.through);
  }

  goingAway(): void {
    this.close();
    this.transport.end();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    eventStreams.dec({ transport: this.transport.kind });
    this.hub.unsubscribeOne(this);
  }
}
