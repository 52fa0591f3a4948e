import type { SessionHost } from '../worker/sessionHost.js';

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
  };
}

export type HostActivities = ReturnType<typeof createHostActivities>;
