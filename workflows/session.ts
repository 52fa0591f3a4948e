import {
  ActivityCancellationType,
  ActivityFailure,
  ApplicationFailure,
  TimeoutFailure,
  CancellationScope,
  condition,
  makeContinueAsNewFunc,
  defineSignal,
  isCancellation,
  patched,
  proxyActivities,
  proxyLocalActivities,
  setHandler,
} from '@temporalio/workflow';
import type { GeneralActivities } from '../activities/general.js';
import type { HostActivities } from '../activities/host.js';
import type { SessionActivities, SessionEnd } from '../activities/session.js';
import { HANDED_OVER, sessionActivityHeartbeatSeconds } from '../domain/session.js';
import { SESSION_WORKFLOW_TASK_TIMEOUT } from './names.js';

export interface SessionWorkflowInput {
  instanceId: string;
  /** Queue of the session workers (whichever has room takes the session). */
  sessionQueue: string;
  heartbeatTimeoutSeconds: number;
}

export type SessionOutcome = 'loggedOut' | 'qrTimeout' | 'replaced' | 'stopped';

export const restartSignal = defineSignal('restart');
export const stopSignal = defineSignal<[{ logout: boolean }]>('stop');

/** Sessions placed on a worker's own queue (spread over the workers) instead of the shared one. */
const SESSION_PLACEMENT_PATCH = 'session-placement';
/**
 * A holder's liveness is its lease (a sweep fails the activity of a holder gone), Temporal's heartbeats a rare
 * backstop; a stop or restart asks the holder to let go instead of waiting for a heartbeat to carry it.
 */
const LEASE_LIVENESS_PATCH = 'session-lease-liveness';

// Restarts add history; start afresh well before it grows large.
const MAX_RUNS_PER_EXECUTION = 200;
/** A session held this long before it failed was working: the next attempt comes at once. */
const STABLE_AFTER_MS = 60_000;
const MAX_RETRY_WAIT_MS = 60_000;

/**
 * One WhatsApp session, for as long as the instance stays connected. The
 * socket lives in `holdSession`, an activity on a session worker that keeps
 * the session's lease: if that worker dies, the general workers' sweep fails
 * the activity once the lease goes unrenewed (worker/sweeps.ts), and this
 * workflow runs it again on another worker, which resumes from the stored
 * credentials.
 */
export async function sessionWorkflow(input: SessionWorkflowInput): Promise<SessionOutcome> {
  const holdOn = (taskQueue: string, placed: boolean, leaseLiveness: boolean) =>
    proxyActivities<SessionActivities>({
      taskQueue,
      startToCloseTimeout: '3650 days',
      heartbeatTimeout: `${leaseLiveness ? sessionActivityHeartbeatSeconds(input.heartbeatTimeoutSeconds) : input.heartbeatTimeoutSeconds} s`,
      // Placed on one worker's own queue: if that worker is gone before it takes the session, place it again.
      ...(placed ? { scheduleToStartTimeout: `${Math.max(10, input.heartbeatTimeoutSeconds)} s` } : {}),
      cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
      // The workflow retries it itself (below): Temporal's own retries would count every hand-over of a long
      // life against the next one (16 s, then 32 s).
      retry: { maximumAttempts: 1 },
    }).holdSession;
  const { placeSession } = proxyLocalActivities<GeneralActivities>({
    startToCloseTimeout: '10 s',
    retry: { initialInterval: '1 s', maximumInterval: '10 s' },
  });
  const general = proxyActivities<GeneralActivities>({
    startToCloseTimeout: '30 s',
    retry: { initialInterval: '1 s', maximumInterval: '30 s' },
  });

  let request: 'restart' | 'logout' | 'stop' | null = null;
  let holding: CancellationScope | null = null;
  setHandler(restartSignal, () => {
    request ??= 'restart';
    holding?.cancel();
  });
  setHandler(stopSignal, ({ logout }) => {
    request = logout ? 'logout' : 'stop';
    if (!logout) holding?.cancel();
  });

  // Failures of holdSession in a row that came quickly; a session that was held a while starts the count again.
  let quickFailures = 0;
  for (let run = 0; run < MAX_RUNS_PER_EXECUTION; run++) {
    request = null;
    holding = new CancellationScope();
    const startedAt = Date.now();
    let lostHolder = false;
    // On the session worker with the most room (spread over the workers), else on whichever takes it.
    const placed = patched(SESSION_PLACEMENT_PATCH)
      ? await placeSession({ instanceId: input.instanceId, heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds })
      : null;
    const leaseLiveness = patched(LEASE_LIVENESS_PATCH);
    const holdSession = placed ? holdOn(placed.taskQueue, true, leaseLiveness) : holdOn(input.sessionQueue, false, leaseLiveness);
    const held = holding
      .run(() => holdSession({ instanceId: input.instanceId }))
      .then(
        (end): SessionEnd | 'cancelled' | 'failed' => end,
        (err): 'cancelled' | 'failed' => {
          if (isCancellation(err)) return 'cancelled';
          if (!(err instanceof ActivityFailure)) throw err;
          // Handed over (SIGTERM) or its worker died (heartbeat timeout): not the session's fault, no wait.
          const cause = err.cause;
          const lost = (cause instanceof ApplicationFailure && cause.type === HANDED_OVER) || cause instanceof TimeoutFailure;
          if (lost) lostHolder = true;
          return 'failed';
        },
      );
    let end: SessionEnd | 'cancelled' | 'failed' | undefined;
    void held.then((e) => (end = e));
    await condition(() => end !== undefined || request === 'logout' || (leaseLiveness && request !== null));
    // Stopped or restarted while held: the holder lets go when asked (or, gone, when the sweep fails its activity).
    if (leaseLiveness && end === undefined && (request === 'restart' || request === 'stop')) {
      await onHolder(input.instanceId, 'releaseSession');
    }

    if (end === 'failed' && request === null) {
      // Held a while, then lost: take it up again at once, like the first time. Failing quickly again and
      // again (a worker that cannot connect): wait 1 s, doubling up to a minute.
      quickFailures = lostHolder || Date.now() - startedAt >= STABLE_AFTER_MS ? 0 : quickFailures + 1;
      if (quickFailures > 1) {
        const wait = Math.min(MAX_RETRY_WAIT_MS, 1_000 * 2 ** (quickFailures - 2));
        await condition(() => request !== null, wait);
      }
      if (request === null || request === 'restart') continue;
    }

    if (request === 'logout') {
      // Log out through the worker that holds the socket; if none can, drop the credentials here.
      const loggedOut = await onHolder(input.instanceId, 'logoutSession');
      if (!loggedOut) holding.cancel();
      await held;
      await general.forgetSession({ instanceId: input.instanceId });
      return 'loggedOut';
    }
    end = await held;
    if (end === 'failed') end = 'cancelled';
    if (end === 'cancelled') {
      if (request === 'restart') continue;
      await general.markDisconnected({ instanceId: input.instanceId });
      return 'stopped';
    }
    return end;
  }
  return makeContinueAsNewFunc<typeof sessionWorkflow>({ workflowTaskTimeout: SESSION_WORKFLOW_TASK_TIMEOUT })(input);
}

/** Asks the worker holding the socket to log out, or to let the session go; false when no live holder answers. */
async function onHolder(instanceId: string, call: 'logoutSession' | 'releaseSession'): Promise<boolean> {
  const { locateSession } = proxyActivities<GeneralActivities>({ startToCloseTimeout: '30 s' });
  const lease = await locateSession({ instanceId });
  if (!lease) return false;
  const host = proxyActivities<HostActivities>({
    taskQueue: lease.taskQueue,
    // A dead holder never picks the task up: give up quickly and fall back.
    scheduleToStartTimeout: '10 s',
    startToCloseTimeout: '20 s',
    retry: { maximumAttempts: 1 },
  });
  try {
    return await host[call]({ instanceId });
  } catch {
    return false;
  }
}
