import { ApplicationFailure } from '@temporalio/activity';
import { PairingRefused, WhatsAppRefusal, type WhatsAppSession } from '../whatsapp/session.js';
import type { SessionHost } from './sessionHost.js';

/** The session methods the API may call live, through the worker holding the socket. */
export const SESSION_CALLS = [
  'exists',
  'markRead',
  'modifyChat',
  'setBlocked',
  'profilePicture',
  'groupMetadata',
  'participatingGroups',
  'sendPresence',
  'createGroup',
  'updateGroupParticipants',
  'setGroupSubject',
  'setGroupDescription',
  'setGroupSettings',
  'groupInviteCode',
  'revokeGroupInvite',
  'joinGroup',
  'leaveGroup',
  'requestPairingCode',
  'editLabel',
  'labelChat',
  'channelInfo',
  'followChannel',
  'unfollowChannel',
  'createChannel',
  'channelPosts',
] as const;
export type SessionCall = (typeof SESSION_CALLS)[number];
/** Calls made on a socket waiting to be paired: they do not wait for it to open. */
const BEFORE_OPEN: readonly SessionCall[] = ['requestPairingCode'];
export type SessionCallArgs<C extends SessionCall> = Parameters<WhatsAppSession[C]>;
export type SessionCallResult<C extends SessionCall> = Awaited<ReturnType<WhatsAppSession[C]>>;

/** Activities that run on the worker holding an instance's socket (its own task queue). */
export function createHostActivities(host: SessionHost) {
  return {
    /** Logs the live session out; false when this worker does not hold it. */
    async logoutSession({ instanceId }: { instanceId: string }): Promise<boolean> {
      const session = host.get(instanceId);
      if (!session) return false;
      await session.logout();
      return true;
    },

    /**
     * Lets the session go here: its workflow stopped or restarted it. Temporal tells a session's activity of
     * its cancellation only with a heartbeat's answer, and those are minutes apart (activities/leaseKeeper.ts).
     * False when this worker does not hold it.
     */
    async releaseSession({ instanceId }: { instanceId: string }): Promise<boolean> {
      return host.release(instanceId);
    },

    /** Runs one session method; "not connected" is a non-retryable failure the API turns into 409. */
    async sessionCall({ instanceId, call, args }: { instanceId: string; call: SessionCall; args: unknown[] }): Promise<unknown> {
      if (!SESSION_CALLS.includes(call)) throw ApplicationFailure.nonRetryable(`unknown session call ${call}`, 'BadCall');
      const session = host.get(instanceId);
      if (!session) throw ApplicationFailure.nonRetryable(`instance ${instanceId} is not connected`, 'NotConnected');
      if (!BEFORE_OPEN.includes(call)) {
        try {
          await session.waitOpen(5_000);
        } catch {
          throw ApplicationFailure.nonRetryable(`instance ${instanceId} is not connected`, 'NotConnected');
        }
      }
      try {
        return await (session[call] as (...a: unknown[]) => Promise<unknown>)(...args);
      } catch (err) {
        // WhatsApp's answer, not a failure to reach it: asking again would get the same (or, for a create, a second group).
        if (err instanceof WhatsAppRefusal) throw ApplicationFailure.nonRetryable(err.message, 'WhatsAppRefusal', err.status);
        // No pairing code: the device is paired already, or its socket is not (yet) registering.
        if (err instanceof PairingRefused)
          throw ApplicationFailure.nonRetryable(err.message, err.reason === 'alreadyPaired' ? 'AlreadyPaired' : 'NotRegistering');
        throw err;
      }
    },
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
