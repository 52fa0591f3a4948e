import { ApplicationFailure, proxyActivities, proxyLocalActivities } from '@temporalio/workflow';
import type { GeneralActivities } from '../activities/general.js';
import type { HostActivities, SessionCall } from '../activities/host.js';

export interface SessionCallInput {
  instanceId: string;
  call: SessionCall;
  args: unknown[];
}

/**
 * Calls whose second attempt could do the thing twice (a create that timed out may have
 * created the group; a second one would be another group; each pairing code request makes
 * a new code): tried once, a failure reported.
 */
const ONCE_ONLY: readonly SessionCall[] = ['createGroup', 'revokeGroupInvite', 'requestPairingCode'];

/** One live call on an instance's WhatsApp session (a query or an action), run where the socket is. */
export async function sessionCallWorkflow({ instanceId, call, args }: SessionCallInput): Promise<unknown> {
  const { locateSession } = proxyLocalActivities<GeneralActivities>({ startToCloseTimeout: '10 s' });
  const lease = await locateSession({ instanceId });
  if (!lease) throw ApplicationFailure.nonRetryable(`instance ${instanceId} is not connected`, 'NotConnected');
  const host = proxyActivities<HostActivities>({
    taskQueue: lease.taskQueue,
    scheduleToStartTimeout: '5 s',
    startToCloseTimeout: '30 s',
    retry: { maximumAttempts: ONCE_ONLY.includes(call) ? 1 : 2, nonRetryableErrorTypes: ['NotConnected', 'BadCall'] },
  });
  return host.sessionCall({ instanceId, call, args });
}
