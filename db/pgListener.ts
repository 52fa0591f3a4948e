/**
 * One Postgres connection that LISTENs on channels and hands each NOTIFY
 * payload to the process's subscribers. It reconnects by itself; after a
 * reconnect `onReconnect` subscribers are told, since notifications sent
 * meanwhile are lost and whoever waits on them must look again.
 */
import pg from 'pg';
import type { Logger } from 'pino';

export class PgListener {
  private client: pg.Client | undefined;
  private readonly handlers = new Map<string, Set<(payload: string) => void>>();
  private readonly reconnectHandlers = new Set<() => void>();
  private stopped = false;
  private started = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly logger: Logger,
  ) {}

  /** Subscribes before or after start(); returns the unsubscribe function. */
  on(channel: string, handler: (payload: string) => void): () => void {
    const set = this.handlers.get(channel) ?? new Set();
    set.add(handler);
    this.handlers.set(channel, set);
    if (set.size === 1 && this.client) void this.client.query(`listen ${channel}`).catch(() => {});
    return () => set.delete(handler);
  }

  onReconnect(handler: () => void): () => void {
    this.reconnectHandlers.add(handler);
    return () => this.reconnectHandlers.delete(handler);
  }

  async start(): Promise<void> {
    const client = new pg.Client({ connectionString: this.databaseUrl, application_name: 'wa-gateway-listen' });
    client.on('notification', ({ channel, payload }) => {
      for (const handler of this.handlers.get(channel) ?? []) handler(payload ?? '');
    });
    client.on('error', (err) => {
      this.logger.warn({ err }, 'notification listener connection lost; reconnecting');
      this.client = undefined;
      client.end().catch(() => {});
      if (!this.stopped) this.retry();
    });
    await client.connect();
    for (const channel of this.handlers.keys()) await client.query(`listen ${channel}`);
    const reconnected = this.client === undefined && this.started;
    this.client = client;
    this.started = true;
    if (reconnected) for (const handler of this.reconnectHandlers) handler();
  }

  private retry(): void {
    setTimeout(() => {
      if (this.stopped) return;
      this.start().catch(() => this.retry());
    }, 1_000).unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.client?.end().catch(() => {});
  }
}
