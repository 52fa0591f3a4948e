/**
 * The general workers' sweeps, each on its own timer:
 * - outboxes: every OUTBOX_SWEEP_SECONDS, wakes the outbox of each connected
 *   instance whose messages have waited without a drain (db/outbox.ts:
 *   stalledOutboxes). A send is accepted once committed, Temporal or not
 *   (api/send.ts); the API retries a failed wake itself, and this covers an
 *   API process that ended before Temporal came back.
 * - lost sessions: every quarter of the session heartbeat timeout. A lease
 *   not renewed within the timeout is a holder gone (once the sweep has
 *   reached the database for a while: not right after an outage): its
 *   activity is failed by its task token (the session workflow takes the
 *   session up again on another worker at once), which is what lets a
 *   session's Temporal heartbeats be rare. Then records as
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
import { forgetLeaseToken, staleLeases } from '../db/leases.js';
import { leaseRenewalMs } from '../domain/session.js';
import { missUnendedCalls } from '../db/calls.js';

export interface SweepDeps {
  db: Db;
  wakeOutbox: (instanceId: string) => Promise<void>;
  logger: Logger;
  outboxEveryMs: number;
  heartbeatTimeoutSeconds: number;
  /** Fails the activity of a session holder gone (by its task token); false when it had ended already. */
  failLostHolder: (taskToken: Uint8Array, reason: string) => Promise<boolean>;
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

/**
 * Finds the session holders gone, leases not renewed within the timeout, and fails their activities; returns
 * the instances whose holder was failed. Only once this sweep has reached the database without a break for
 * a renewal period and a half: after a database outage every lease looks stale until its holder's next
 * renewal, a moment after the database is back.
 */
function lostHolders({ db, failLostHolder, heartbeatTimeoutSeconds, logger }: SweepDeps, everyMs: number) {
  const renewEveryMs = leaseRenewalMs(heartbeatTimeoutSeconds);
  /** Since when each sweep has reached the database, no more than two periods after the one before. */
  let reachedSince = 0;
  let lastReached = 0;
  return {
    async sweep(): Promise<string[]> {
      const stale = await staleLeases(db, heartbeatTimeoutSeconds);
      const now = Date.now();
      if (now - lastReached > 2 * everyMs) reachedSince = now;
      lastReached = now;
      if (now - reachedSince < 1.5 * renewEveryMs) return [];
      const failed: string[] = [];
      for (const lease of stale) {
        try {
          const ended = await failLostHolder(lease.taskToken, `the worker holding session ${lease.instanceId} stopped renewing its lease`);
          if (ended) failed.push(lease.instanceId);
        } catch (err) {
          // Temporal unreachable: the next sweep tries again.
          logger.warn({ err, instanceId: lease.instanceId }, 'failing the activity of a session holder gone failed; trying again');
          break;
        }
        // Failed (or ended already): not again; the session is shown lost (markLostSessions).
        await forgetLeaseToken(db, lease);
      }
      return failed;
    },
    /** The database could not be reached: the next sweeps wait for the holders to renew again. */
    broken: () => void (lastReached = 0),
  };
}

export function startSweeps(deps: SweepDeps): () => Promise<void> {
  const { db, wakeOutbox, logger, outboxEveryMs, heartbeatTimeoutSeconds } = deps;
  const sessionsEveryMs = Math.max(1_000, (heartbeatTimeoutSeconds * 1_000) / 4);
  const holders = lostHolders(deps, sessionsEveryMs);
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
      sessionsEveryMs,
      async () => {
        const failed = await holders.sweep().catch((err) => {
          holders.broken();
          throw err;
        });
        if (failed.length)
          logger.warn({ instances: failed }, 'session holders stopped renewing their leases: their sessions are taken up again');
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
