/**
 * The general workers' sweeps, each on its own timer:
 * - outboxes: every OUTBOX_SWEEP_SECONDS, wakes the outbox of each connected
 *   instance whose messages have waited without a drain (db/outbox.ts:
 *   stalledOutboxes). A send is accepted once committed, Temporal or not
 *   (api/send.ts); the API retries a failed wake itself, and this covers an
 *   API process that ended before Temporal came back.
 * - lost sessions: every quarter of the session heartbeat timeout, records as
 *   `connecting` (with its `connection_status` event) an instance shown
 *   `open` whose session no worker holds any more (db/instances.ts:
 *   markLostSessions), through a failover's gap.
 * - calls: every OUTBOX_SWEEP_SECONDS, a call still ringing two minutes after
 *   its offer, whose end never reached the gateway, becomes missed (db/calls.ts:
 *   missUnendedCalls).
 */
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { stalledOutboxes } from '../db/outbox.js';
import { markLostSessions } from '../db/instances.js';
import { missUnendedCalls } from '../db/calls.js';

export interface SweepDeps {
  db: Db;
  wakeOutbox: (instanceId: string) => Promise<void>;
  logger: Logger;
  outboxEveryMs: number;
  heartbeatTimeoutSeconds: number;
}

/** A message pending this long without a drain is taken as stranded (a drain takes new ones within milliseconds). */
const STALLED_AFTER_MS = 10_000;
/** WhatsApp rings for about a minute: a call still offered after two has ended unseen. */
const UNENDED_CALL_SECONDS = 120;

/** Runs `task` every `everyMs`, one run at a time; returns the function that stops it and waits for a run under way. */
function every(everyMs: number, task: () => Promise<void>, onError: (err: unknown) => void): () => Promise<void> {
  let running: Promise<void> | undefined;
  const timer = setInterval(() => {
    running ??= task()
      .catch(onError)
      .finally(() => (running = undefined));
  }, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}

export function startSweeps({ db, wakeOutbox, logger, outboxEveryMs, heartbeatTimeoutSeconds }: SweepDeps): () => Promise<void> {
  const stops = [
    every(
      outboxEveryMs,
      async () => {
        const stalled = await stalledOutboxes(db, STALLED_AFTER_MS);
        if (stalled.length) logger.info({ instances: stalled }, 'waking outboxes with messages left pending');
        await Promise.all(
          stalled.map((id) => wakeOutbox(id).catch((err) => logger.warn({ err, instanceId: id }, 'waking an outbox failed'))),
        );
      },
      (err) => logger.warn({ err }, 'the outbox sweep failed'),
    ),
    every(
      Math.max(1_000, (heartbeatTimeoutSeconds * 1_000) / 4),
      async () => {
        const lost = await markLostSessions(db, heartbeatTimeoutSeconds);
        if (lost.length) logger.info({ instances: lost }, 'sessions no worker holds: shown connecting until one takes them up');
      },
      (err) => logger.warn({ err }, 'the session sweep failed'),
    ),
    every(
      outboxEveryMs,
      async () => {
        const missed = await missUnendedCalls(db, UNENDED_CALL_SECONDS);
        if (missed) logger.info({ calls: missed }, 'calls whose end never came are missed');
      },
      (err) => logger.warn({ err }, 'the call sweep failed'),
    ),
  ];
  return async () => {
    await Promise.all(stops.map((stop) => stop()));
  };
}
