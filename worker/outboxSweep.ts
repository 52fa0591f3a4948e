/**
 * The general workers' outbox sweep: every OUTBOX_SWEEP_SECONDS, wakes the
 * outbox of each connected instance whose messages have waited without a
 * drain (db/outbox.ts: stalledOutboxes). A send is accepted once committed,
 * Temporal or not (api/send.ts); the API retries a failed wake itself, and
 * this sweep covers an API process that ended before Temporal came back.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { stalledOutboxes } from '../db/outbox.js';

export interface OutboxSweepDeps {
  db: Db;
  wake: (instanceId: string) => Promise<void>;
  logger: Logger;
  everyMs: number;
}

/** A message pending this long without a drain is taken as stranded (a drain takes new ones within milliseconds). */
const STALLED_AFTER_MS = 10_000;

export function startOutboxSweep({ db, wake, logger, everyMs }: OutboxSweepDeps): () => Promise<void> {
  let running: Promise<void> | undefined;
  const sweep = async () => {
    const stalled = await stalledOutboxes(db, STALLED_AFTER_MS);
    if (stalled.length) logger.info({ instances: stalled }, 'waking outboxes with messages left pending');
    await Promise.all(stalled.map((id) => wake(id).catch((err) => logger.warn({ err, instanceId: id }, 'waking an outbox failed'))));
  };
  const timer = setInterval(() => {
    running ??= sweep()
      .catch((err) => logger.warn({ err }, 'the outbox sweep failed'))
      .finally(() => (running = undefined));
  }, everyMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
