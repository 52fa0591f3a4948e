import type { Db } from '../db/knex.js';
import { recordAttempts, type AttemptRecord } from '../db/webhooks.js';

/**
 * Stores attempt outcomes in batches, one write at a time, without holding up
 * the next attempts. `recorded` runs after each stored batch.
 */
export class AttemptWriter {
  private queue: AttemptRecord[] = [];
  private writing: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly db: Db,
    private readonly recorded: (records: AttemptRecord[]) => void,
  ) {}

  add(record: AttemptRecord): void {
    this.queue.push(record);
    this.writing ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue.splice(0, 1_000);
        try {
          await recordAttempts(this.db, batch);
          this.recorded(batch);
        } catch (err) {
          this.failure = err;
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Throws if a write failed: the drain ends, its events stay pending and are delivered again. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    this.check();
  }
}
