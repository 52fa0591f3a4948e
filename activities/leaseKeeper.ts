/**
 * The session leases of one worker, kept together: every quarter of the
 * heartbeat timeout one statement renews them all (db/leases.ts:
 * renewLeases) and each session's activity heartbeats to Temporal (the SDK
 * sends what its throttle allows). A worker holding 1,000 sessions made 200
 * statements a second with a timer and a statement per session.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { renewLeases } from '../db/leases.js';

interface Held {
  epoch: number;
  /** The session's activity heartbeat. */
  beat: () => void;
  /** Another worker holds the lease now. */
  lost: () => void;
}

export class LeaseKeeper {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;

  constructor(
    private readonly db: Db,
    private readonly everyMs: number,
    private readonly log: Logger,
  ) {}

  /** Keeps this session's lease until the returned function is called. */
  keep(instanceId: string, epoch: number, beat: () => void, lost: () => void): () => void {
    const entry: Held = { epoch, beat, lost };
    this.held.set(instanceId, entry);
    this.timer ??= setInterval(() => void this.tick(), this.everyMs);
    return () => {
      if (this.held.get(instanceId) === entry) this.held.delete(instanceId);
      if (this.held.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private async tick(): Promise<void> {
    for (const entry of this.held.values()) entry.beat();
    // One renewal at a time: a slow database does not pile them up.
    if (this.renewing) return;
    this.renewing = true;
    const leases = [...this.held].map(([instanceId, { epoch }]) => ({ instanceId, epoch }));
    try {
      const renewed = await renewLeases(this.db, leases);
      for (const { instanceId, epoch } of leases) {
        const entry = this.held.get(instanceId);
        if (entry?.epoch === epoch && !renewed.has(instanceId)) entry.lost();
      }
    } catch (err) {
      this.log.warn({ err, sessions: leases.length }, 'renewing the session leases failed');
    } finally {
      this.renewing = false;
    }
  }
}
