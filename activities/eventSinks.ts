/**
 * Broker sinks: a long activity per configured sink (run by its workflow,
 * workflows/eventSink.ts, on a general worker) that follows the event log
 * from the sink's cursor and publishes each page to the broker
 * (sinkPublishers.ts), advancing the cursor only once the broker confirmed
 * it. Order: the log's, for every chat. A worker killed between a confirm and
 * the cursor's update publishes that page again, with the same event ids.
 *
 * While the broker is down the activity fails (the sink's row says why, for
 * /ready and /metrics) and Temporal runs it again on its retry schedule; the
 * events wait in the log.
 */
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import type { Arrivals } from '../db/arrivals.js';
import { compareCursors, readEvents } from '../db/eventLog.js';
import { advanceSink, markSinkFailing, markSinkOk, sinkCursor } from '../db/eventSinks.js';
import type { SinkPublisher } from './sinkPublishers.js';

export interface EventSink {
  /** `amqp` or `nats`: the workflow id's end and the name in /ready and /metrics. */
  name: string;
  connect(): Promise<SinkPublisher>;
}

export interface EventSinkDeps {
  db: Db;
  logger: Logger;
  /** NOTIFYs of new events (`wa_events`), all under the key ''. */
  arrivals: Arrivals;
  sinks: EventSink[];
  /** How long one activity runs before its workflow starts the next. */
  roundMs?: number;
}

const PAGE = 500;
/** How long an idle sink waits for a notification before it looks anyway (and heartbeats). */
const IDLE_LOOK_MS = 5_000;

export type SinkRoundResult = 'again' | 'unconfigured';

export function createEventSinkActivities(deps: EventSinkDeps) {
  const { db } = deps;
  return {
    async publishEvents(name: string): Promise<SinkRoundResult> {
      const sink = deps.sinks.find((s) => s.name === name);
      // The worker that runs it has no such sink configured (any more): the workflow ends.
      if (!sink) return 'unconfigured';
      const ctx = Context.current();
      let cursor = await sinkCursor(db, name);
      let publisher: SinkPublisher;
      try {
        publisher = await sink.connect();
      } catch (err) {
        await markSinkFailing(db, name, `connecting: ${(err as Error).message}`).catch(() => {});
        throw err;
      }
      await markSinkOk(db, name);
      const watch = deps.arrivals.watch('');
      const until = Date.now() + (deps.roundMs ?? 30 * 60_000);
      let heldMs = 0;
      try {
        while (Date.now() < until && !ctx.cancellationSignal.aborted) {
          watch.clear();
          const page = await readEvents(db, { after: cursor, limit: PAGE });
          if (page.events.length > 0) {
            try {
              await publisher.publish(page.events);
            } catch (err) {
              await markSinkFailing(db, name, (err as Error).message).catch(() => {});
              throw err;
            }
          }
          if (compareCursors(page.through, cursor) > 0) {
            await advanceSink(db, name, page.through, page.events.length);
            cursor = page.through;
          }
          ctx.heartbeat();
          if (page.events.length === PAGE) continue;
          // Events committed behind a transaction still open: look again shortly, backing off to a second.
          heldMs = page.held ? Math.min(1_000, Math.max(20, heldMs * 2)) : 0;
          await Promise.race([watch.next(heldMs || IDLE_LOOK_MS), ctx.cancelled.catch(() => {})]);
        }
        return 'again';
      } finally {
        watch.close();
        await publisher.close();
      }
    },
  };
}

export type EventSinkActivities = ReturnType<typeof createEventSinkActivities>;
