import type { WhatsAppSession } from '../whatsapp/session.js';

/**
 * The live sessions of one worker process, and the task queue on which this
 * process takes the activities that need one of them.
 */
export class SessionHost {
  private readonly sessions = new Map<string, WhatsAppSession>();
  /** Per held session: how to ask it to move to another worker. */
  private readonly moves = new Map<string, (why: 'moved' | 'released') => void>();
  private holds = 0;
  private idle: Array<() => void> = [];
  private onEvacuate!: () => void;
  /** True once this worker is shutting down. */
  isEvacuating = false;
  /** Resolves when this worker is shutting down and must hand its sessions over. */
  readonly evacuating = new Promise<'evacuating'>((resolve) => (this.onEvacuate = () => resolve('evacuating')));

  constructor(
    readonly workerId: string,
    readonly taskQueue: string,
  ) {}

  attach(instanceId: string, session: WhatsAppSession): void {
    this.sessions.set(instanceId, session);
  }

  detach(instanceId: string, session: WhatsAppSession): void {
    if (this.sessions.get(instanceId) === session) this.sessions.delete(instanceId);
  }

  get(instanceId: string): WhatsAppSession | undefined {
    return this.sessions.get(instanceId);
  }

  get size(): number {
    return this.sessions.size;
  }

  /** The instances whose sessions this worker holds now. */
  instanceIds(): string[] {
    return [...this.sessions.keys()];
  }

  /**
   * Settles when the session must let go here: `moved` when this worker holds
   * more than its share and it goes to another (worker/sessionSpread.ts),
   * `released` when its workflow stops or restarts it (activities/host.ts:
   * releaseSession). Until `forget` is called.
   */
  moved(instanceId: string): { moved: Promise<'moved' | 'released'>; forget: () => void } {
    let move!: (why: 'moved' | 'released') => void;
    const moved = new Promise<'moved' | 'released'>((resolve) => (move = resolve));
    this.moves.set(instanceId, move);
    // No more moves for this session (its activity ends); a later activity's own stays.
    return { moved, forget: () => void (this.moves.get(instanceId) === move && this.moves.delete(instanceId)) };
  }

  /** Asks the session to close here and go to another worker; false if it is not held here. */
  move(instanceId: string): boolean {
    return this.letGo(instanceId, 'moved');
  }

  /** Asks the session to close here, its workflow having stopped or restarted it; false if it is not held here. */
  release(instanceId: string): boolean {
    return this.letGo(instanceId, 'released');
  }

  private letGo(instanceId: string, why: 'moved' | 'released'): boolean {
    const move = this.moves.get(instanceId);
    this.moves.delete(instanceId);
    move?.(why);
    return move !== undefined;
  }

  /** Counts a running session activity until `work` settles. */
  async hold<T>(work: () => Promise<T>): Promise<T> {
    this.holds++;
    try {
      return await work();
    } finally {
      if (--this.holds === 0) for (const wake of this.idle.splice(0)) wake();
    }
  }

  /** Asks every session to close its socket (keeping credentials) and waits for them, at most `timeoutMs`. */
  async evacuate(timeoutMs: number): Promise<void> {
    this.isEvacuating = true;
    this.onEvacuate();
    if (this.holds === 0) return;
    await Promise.race([
      new Promise<void>((resolve) => this.idle.push(resolve)),
      new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref()),
    ]);
  }
}
