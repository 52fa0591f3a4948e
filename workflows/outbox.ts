import {
  ActivityFailure,
  CancellationScope,
  condition,
  continueAsNew,
  defineSignal,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
  sleep,
  TimeoutFailure,
} from '@temporalio/workflow';
import type { GeneralActivities } from '../activities/general.js';
import type { DrainResult, OutboxActivities } from '../activities/outbox.js';

export interface OutboxInput {
  instanceId: string;
}

/** Something may be waiting to go out: a message was accepted, or the session opened. */
export const wakeSignal = defineSignal('wake');

const BATCH = 100;
const IDLE_ROUNDS_BEFORE_EXIT = 10;
/**
 * An outbox not woken sleeps until it is, and ends after ten minutes without a wake. Before, it ran a drain
 * every minute for ten minutes after its last message: with 1,000 instances that had each sent one, 17 drains
 * a second (their workflow tasks, activities and heartbeats) while nothing was sent. Messages a wake never
 * announced are found by the general workers' sweep (worker/sweeps.ts).
 */
const IDLE_WAIT_PATCH = 'outbox-idle-wait';

/**
 * A drain no worker picked up does not grow the pause after failed drains: nothing failed to send. Before,
 * each such timeout doubled it, so a few in a row (a dead holder, or a session worker whose pollers are
 * still coming back after a Temporal outage) could hold messages back long after the session could send;
 * the likely cause of one CI run of test/temporal-blip.test.ts where a 12 s freeze's sends reached the
 * phone 45 s after Temporal's return.
 */
const START_TIMEOUT_PATCH = 'outbox-start-timeout-no-backoff';

/** Whether a drain failed because no worker started it in time. */
const notPickedUp = (err: unknown) =>
  err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === 'SCHEDULE_TO_START';

/**
 * The instance's outbox. Pending messages live in Postgres; this workflow
 * runs a drain on the worker that holds the instance's socket, which sends
 * them in order and keeps taking new ones while they keep coming. Between
 * drains it sleeps until woken, waits while the instance is not connected,
 * and exits after ten minutes without a wake (the next wake restarts it).
 */
export async function outboxWorkflow({ instanceId }: OutboxInput): Promise<void> {
  const { locateSession } = proxyLocalActivities<GeneralActivities>({ startToCloseTimeout: '10 s' });
  let woken = true;
  let wakes = 0;
  setHandler(wakeSignal, () => {
    woken = true;
    wakes++;
  });

  let idleRounds = 0;
  let failedDrains = 0;
  for (let round = 0; round < 1_000; round++) {
    if (!woken) {
      if (patched(IDLE_WAIT_PATCH)) {
        if (!(await condition(() => woken, '10 minutes'))) return;
      } else if (!(await condition(() => woken, '1 minute')) && ++idleRounds >= IDLE_ROUNDS_BEFORE_EXIT) return;
    }
    woken = false;
    const lease = await locateSession({ instanceId });
    if (!lease) continue; // not connected: the session wakes us when it opens
    const host = proxyActivities<OutboxActivities>({
      taskQueue: lease.taskQueue,
      // A dead holder never starts the task: give up fast and locate the session again.
      scheduleToStartTimeout: '5 s',
      startToCloseTimeout: '1 hour',
      // Longer than a session's (20 s by default): a Temporal outage that the session outlives, the drain
      // outlives too (the worker gives a drain up when it could not heartbeat for this long). A drain on a
      // killed worker is given up when the session opens elsewhere (drainUnlessMoved), not after this.
      heartbeatTimeout: '60 s',
      retry: { maximumAttempts: 1 },
    });
    try {
      const result = await drainUnlessMoved(host, lease.epoch);
      if (!result) {
        // Another worker holds the session now: a drain there takes the messages, at once.
        woken = true;
        continue;
      }
      failedDrains = 0;
      if (result.more) woken = true;
      if (result.sent + result.failed > 0) idleRounds = 0;
      if (result.notConnected) await sleep('1 s');
    } catch (err) {
      if (notPickedUp(err) && patched(START_TIMEOUT_PATCH)) {
        // No worker took the drain within 5 s (the holder is dead, or its pollers are still coming back
        // after a Temporal outage): nothing failed to send, so locate the session again after a second.
        await sleep('1 s');
      } else {
        // Growing pauses (1 s, 2 s, 4 s... up to a minute): a message whose send keeps failing is
        // retried for about two minutes before the drain marks it failed (activities/outbox.ts).
        await sleep(Math.min(60_000, 1_000 * 2 ** failedDrains++));
      }
      woken = true;
    }
  }
  return continueAsNew<typeof outboxWorkflow>({ instanceId });

  /**
   * Runs a drain on the session's holder. A wake while it runs (the session
   * opened, or a sweep found messages waiting) may mean that the holder died
   * and another worker took the session over: then the drain is given up
   * (undefined) rather than waited for until its heartbeat timeout.
   */
  async function drainUnlessMoved(host: OutboxActivities, epoch: number): Promise<DrainResult | undefined> {
    const drainScope = new CancellationScope();
    const drain = drainScope.run(() => host.drainOutbox({ instanceId, batch: BATCH }));
    if (!patched('outbox-drain-unless-moved')) return drain;
    const outcome = drain.then(
      (result) => ({ result }),
      (error: unknown) => ({ error }),
    );
    // A wake stays pending (woken) for the round after this drain: only the holder is looked up now.
    let seen = wakes;
    for (;;) {
      const watch = new CancellationScope();
      const wakeWhileDraining = watch
        .run(() => condition(() => wakes > seen))
        .then(
          () => true,
          () => false,
        );
      const first = await Promise.race([outcome, wakeWhileDraining]);
      watch.cancel();
      if (typeof first === 'object') {
        if ('error' in first) throw first.error;
        return first.result;
      }
      seen = wakes;
      const now = await locateSession({ instanceId });
      if (now && now.epoch === epoch) continue;
      drainScope.cancel();
      await outcome;
      return undefined;
    }
  }
}
