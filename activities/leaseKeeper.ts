/**
 * The session leases of one worker, kept together: every quarter of the
 * lease timeout one statement renews them all (db/leases.ts: renewLeases).
 * A worker holding 1,000 sessions made 200 statements a second with a timer
 * and a statement per session.
 *
 * The lease is what says a session's holder is alive: a lease not renewed
 * makes the general workers' sweep fail the holding activity
 * (worker/sweeps.ts). Temporal's heartbeats of the same activities are only a
 * backstop, so each session beats rarely (`beatEveryMs`), the beats spread
 * over the rounds: 1,000 sessions beating every 5 s made 200 heartbeat calls a
 * second, each one a request to Temporal's server. Each session beats every
 * quarter of its activity's heartbeat timeout (workflows/session.ts).
 */
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { renewLeases } from '../db/leases.js';

interface Held {
  epoch: number;
  /** The session's activity heartbeat. */
  beat: () => void;
  beatEveryMs: number;
  /** When it beats next (ms since the epoch). */
  nextBeatAt: number;
  /** Another worker holds the lease now. */
  lost: () => void;
}

export class LeaseKeeper {
  private readonly held = new Map<string, Held>();
  private timer: NodeJS.Timeout | undefined;
  private renewing = false;

  constructor(
    private readonly db: Db,
    private readonly renewEveryMs: number,
    private readonly log: Logger,
  ) {}

  /** Keeps this session's lease, and beats every `beatEveryMs`, until the returned function is called. */
  keep(instanceId: string, epoch: number, session: { beat: () => void; beatEveryMs: number; lost: () => void }): () => void {
    const { beat, beatEveryMs, lost } = session;
    // The first beat somewhere in the first period: sessions taken up together do not beat together.
    const entry: Held = { epoch, beat, beatEveryMs, lost, nextBeatAt: Date.now() + Math.random() * beatEveryMs };
    this.held.set(instanceId, entry);
    this.timer ??= setInterval(() => void this.tick(), this.renewEveryMs);
    return () => {
      if (this.held.get(instanceId) === entry) this.held.delete(instanceId);
      if (this.held.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }

  private async tick(): Promise<void> {
    const now = Date.now();
    for (const entry of this.held.values()) {
      if (entry.nextBeatAt > now) continue;
      entry.nextBeatAt = now + entry.beatEveryMs;
      entry.beat();
    }
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
