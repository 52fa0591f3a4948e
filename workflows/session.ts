import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  continueAsNew,
  defineSignal,
  isCancellation,
  proxyActivities,
  setHandler,
} from '@temporalio/workflow';
import type { GeneralActivities } from '../activities/general.js';
import type { HostActivities } from '../activities/host.js';
import type { SessionActivities, SessionEnd } from '../activities/session.js';

export interface SessionWorkflowInput {
  instanceId: string;
  /** Queue of the session workers (whichever has room takes the session). */
  sessionQueue: string;
  heartbeatTimeoutSeconds: number;
}

export type SessionOutcome = 'loggedOut' | 'qrTimeout' | 'replaced' | 'stopped';

export const restartSignal = defineSignal('restart');
export const stopSignal = defineSignal<[{ logout: boolean }]>('stop');

// Restarts add history; start afresh well before it grows large.
const MAX_RUNS_PER_EXECUTION = 200;

/**
 * One WhatsApp session, for as long as the instance stays connected. The
 * socket lives in `holdSession`, a heartbeating activity on a session worker:
 * if that worker dies, the heartbeat times out and Temporal retries the
 * activity on another worker, which resumes from the stored credentials.
 */
export async function sessionWorkflow(input: SessionWorkflowInput): Promise<SessionOutcome> {
  const { holdSession } = proxyActivities<SessionActivities>({
    taskQueue: input.sessionQueue,
    startToCloseTimeout: '3650 days',
    heartbeatTimeout: `${input.heartbeatTimeoutSeconds} s`,
    cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
    retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '1 min' },
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

  for (let run = 0; run < MAX_RUNS_PER_EXECUTION; run++) {
    request = null;
    holding = new CancellationScope();
    const held = holding
      .run(() => holdSession({ instanceId: input.instanceId }))
      .then(
        (end): SessionEnd | 'cancelled' => end,
        (err): 'cancelled' => {
          if (isCancellation(err)) return 'cancelled';
          throw err;
        },
      );
    let end: SessionEnd | 'cancelled' | undefined;
    void held.then((e) => (end = e));
    await condition(() => end !== undefined || request === 'logout');

    if (request === 'logout') {
      // Log out through the worker that holds the socket; if none can, drop the credentials here.
      const loggedOut = await logoutOnHost(input.instanceId);
      if (!loggedOut) holding.cancel();
      await held;
      await general.forgetSession({ instanceId: input.instanceId });
      return 'loggedOut';
    }
    end = await held;
    if (end === 'cancelled') {
      if (request === 'restart') continue;
      await general.markDisconnected({ instanceId: input.instanceId });
      return 'stopped';
    }
    return end;
  }
  return continueAsNew<typeof sessionWorkflow>(input);
}

/** Asks the worker holding the socket to log out; false when no live holder answers. */
async function logoutOnHost(instanceId: string): Promise<boolean> {
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
    return await host.logoutSession({ instanceId });
  } catch {
    return false;
  }
}
