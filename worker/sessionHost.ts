import type { WhatsAppSession } from '../whatsapp/session.js';

/**
 * The live sessions of one worker process, and the task queue on which this
 * process takes the activities that need one of them.
 */
export class SessionHost {
  private readonly sessions = new Map<string, WhatsAppSession>();

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
}
