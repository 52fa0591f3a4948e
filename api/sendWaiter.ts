/**
 * Lets a send request wait, briefly, for its message to go out. One Postgres
 * connection LISTENs for status changes (NOTIFYed by the worker in the
 * transaction that changes the status) and wakes the waiting requests.
 */
import pg from 'pg';
import type { Logger } from 'pino';
import { STATUS_CHANNEL } from '../db/messages.js';
import type { MessageStatus } from '../whatsapp/session.js';

export class SendWaiter {
  private client: pg.Client | undefined;
  private readonly waiting = new Map<string, Set<(status: MessageStatus) => void>>();
  private stopped = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl });
    client.on('notification', ({ payload }) => {
      const [instanceId, id, status] = (payload ?? '').split('\n');
      for (const wake of this.waiting.get(`${instanceId}\n${id}`) ?? []) wake(status as MessageStatus);
    });
    client.on('error', (err) => {
      this.logger.warn({ err }, 'status listener connection lost; reconnecting');
      this.client = undefined;
      if (!this.stopped) setTimeout(() => void this.start().catch(() => {}), 1_000).unref();
    });
    await client.connect();
    await client.query(`listen ${STATUS_CHANNEL}`);
    this.client = client;
  }

  /**
   * Resolves with the first status other than `pending` announced for the
   * message within `timeoutMs`, or undefined. `current` is read after the
   * waiter is registered, so a change just before cannot be missed.
   */
  async wait(
    instanceId: string,
    id: string,
    timeoutMs: number,
    current: () => Promise<MessageStatus | undefined>,
  ): Promise<MessageStatus | undefined> {
    const key = `${instanceId}\n${id}`;
    let wake!: (status: MessageStatus) => void;
    const changed = new Promise<MessageStatus>((resolve) => (wake = (status) => status !== 'pending' && resolve(status)));
    const set = this.waiting.get(key) ?? new Set();
    set.add(wake);
    this.waiting.set(key, set);
    try {
      const now = await current();
      if (now && now !== 'pending') return now;
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>((resolve) => (timer = setTimeout(() => resolve(undefined), timeoutMs)));
      const result = await Promise.race([changed, timeout]);
      clearTimeout(timer);
      return result ?? (await current());
    } finally {
      set.delete(wake);
      if (set.size === 0) this.waiting.delete(key);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => {});
  }
}
