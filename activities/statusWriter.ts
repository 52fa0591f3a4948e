import type { Db } from '../db/knex.js';
import { setStatuses, type StatusChange } from '../db/messages.js';

/**
 * Records a drain's status changes without holding up the next send
 * (setStatuses batches them with the instance's other status writes), and
 * knows which messages (by seq) are sent but not yet recorded, so that the
 * next pick-up leaves them out. `barrier` runs before each write.
 */
export class StatusWriter {
  private readonly writing = new Map<string, Promise<void>>();
  private failure: unknown;

  constructor(
    private readonly db: Db,
    private readonly instanceId: string,
    private readonly barrier: () => Promise<void>,
  ) {}

  /**
   * Records a change of status; `first` (what a sent message does to others:
   * an edit, a delete) is done before it, so that a failure leaves the message
   * pending, to be sent and done again.
   */
  add(seq: string, change: StatusChange, first?: () => Promise<unknown>): void {
    if (this.failure) throw this.failure;
    const write = this.barrier()
      .then(() => first?.())
      .then(() => setStatuses(this.db, this.instanceId, [change]))
      .then(
        // A message whose write failed stays out of this drain's pick-ups: the failure ends the drain.
        () => void this.writing.delete(seq),
        (err) => void (this.failure ??= err),
      );
    this.writing.set(seq, write);
  }

  /** The messages sent whose status is not written yet. */
  unwritten(): string[] {
    return [...this.writing.keys()];
  }

  /** Waits while more than `max` messages are unrecorded (slow key or status writes); throws if a write failed. */
  async atMost(max: number): Promise<void> {
    while (this.writing.size > max && !this.failure) await Promise.race(this.writing.values());
    if (this.failure) throw this.failure;
  }

  /** Waits until everything added is written; throws if a write failed. */
  async flush(): Promise<void> {
    await Promise.all(this.writing.values());
    if (this.failure) throw this.failure;
  }
}
