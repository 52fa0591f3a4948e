/**
 * The general workers' sweeps, each on its own timer:
 * - outboxes: every OUTBOX_SWEEP_SECONDS, wakes the outbox of each connected
 *   instance whose messages have waited without a drain (db/outbox.ts:
 *   stalledOutboxes). A send is accepted once committed, Temporal or not
 *   (api/send.ts); the API retries a failed wake itself, and this covers an
 *   API process that ended before Temporal came back.
 * - lost sessions: every quarter of the session heartbeat timeout. A lease
 *   not renewed within the timeout, and still not half of it later, is a
 *   holder gone: its activity is failed by its task token (the session
 *   workflow takes the session up again on another worker at once), which is
 *   what lets a session's Temporal heartbeats be rare. Then records as
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
import { forgetStaleLease, restoreStaleLease, staleLeases } from '../db/leases.js';
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
 * Finds the session holders gone: leases stale in two sweeps at least half the timeout apart (after a database
 * outage every lease looks stale until its holder's next renewal, a few seconds later), and fails their
 * activities. Returns the instances whose holder was failed.
 */
function lostHolders({ db, failLostHolder, heartbeatTimeoutSeconds }: SweepDeps) {
  /** Stale leases seen, by instance and epoch: when first seen. */
  const seen = new Map<string, number>();
  return async (): Promise<string[]> => {
    const now = Date.now();
    const stale = await staleLeases(db, heartbeatTimeoutSeconds);
    const keys = new Set(stale.map((l) => `${l.instanceId}:${l.epoch}`));
    for (const key of seen.keys()) if (!keys.has(key)) seen.delete(key);
    const failed: string[] = [];
    for (const lease of stale) {
      const key = `${lease.instanceId}:${lease.epoch}`;
      const firstSeen = seen.get(key);
      if (firstSeen === undefined) seen.set(key, now);
      if (firstSeen === undefined || now - firstSeen < (heartbeatTimeoutSeconds * 1_000) / 2) continue;
      // Taken for failing, unless renewed meanwhile (the holder was slow, not gone).
      if (!(await forgetStaleLease(db, lease, heartbeatTimeoutSeconds))) continue;
      seen.delete(key);
      try {
        await failLostHolder(lease.taskToken, `the worker holding session ${lease.instanceId} stopped renewing its lease`);
        failed.push(lease.instanceId);
      } catch (err) {
        // Temporal unreachable: the next sweep tries again.
        await restoreStaleLease(db, lease);
        throw err;
      }
    }
    return failed;
  };
}

export function startSweeps(deps: SweepDeps): () => Promise<void> {
  const { db, wakeOutbox, logger, outboxEveryMs, heartbeatTimeoutSeconds } = deps;
  const failLostHolders = lostHolders(deps);
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
        const failed = await failLostHolders();
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
