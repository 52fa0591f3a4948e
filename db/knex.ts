import knexFactory, { type Knex } from 'knex';
import { migrationSource } from './migrations/index.js';

export type Db = Knex;

/** How long a query may take by default before it fails (a frozen or unreachable Postgres): see createDb. */
export const DEFAULT_QUERY_TIMEOUT_MS = 5_000;

type PgConnection = {
  query(...args: unknown[]): unknown;
  connection?: { stream?: { destroy(): void } };
  __knex__disposed?: unknown;
};

/**
 * A connection whose query timed out still waits for that query's answer:
 * it is marked for knex to destroy when it is released, and its socket is
 * closed, instead of going back to the pool to hang the next request.
 */
function discardOnTimeout(connection: PgConnection): void {
  const query = connection.query.bind(connection);
  const discard = (err: unknown) => {
    if ((err as Error | undefined)?.message !== 'Query read timeout') return;
    connection.__knex__disposed = err;
    connection.connection?.stream?.destroy();
  };
  connection.query = (...args: unknown[]) => {
    const callback = args.at(-1);
    if (typeof callback === 'function') {
      args[args.length - 1] = (err: unknown, result: unknown) => {
        discard(err);
        (callback as (err: unknown, result: unknown) => void)(err, result);
      };
      return query(...args);
    }
    const result = query(...args);
    if (result instanceof Promise) result.catch(discard);
    return result;
  };
}

/**
 * A pool on Postgres. Every query is bounded: it fails after `queryTimeoutMs`
 * (answered as 503 by the API) whether Postgres answers slowly, holds a lock
 * or is frozen, and the server gives up on it a moment later too (statement
 * and lock timeouts), so that a stuck database costs requests a bounded wait
 * and the pool recovers by itself. 0 turns the bounds off (migrations).
 */
export function createDb(databaseUrl: string, options: { poolMax?: number; queryTimeoutMs?: number } = {}): Db {
  const timeoutMs = options.queryTimeoutMs ?? DEFAULT_QUERY_TIMEOUT_MS;
  const bounds = timeoutMs > 0 ? { query_timeout: timeoutMs, statement_timeout: timeoutMs + 1_000, lock_timeout: timeoutMs } : {};
  // Setting up a connection, and waiting for one from the pool, are bounded too: a request may need both.
  const waitMs = timeoutMs > 0 ? Math.min(3_000, Math.max(1_000, timeoutMs)) : 5_000;
  return knexFactory({
    client: 'pg',
    connection: { connectionString: databaseUrl, connectionTimeoutMillis: waitMs, application_name: 'wa-gateway', ...bounds },
    pool: {
      min: 0,
      max: options.poolMax ?? 10,
      // The hot paths' named statements (preparedQuery) are planned once per connection. Left to
      // choose, Postgres re-plans the ones over small arrays every time (their custom plans look
      // cheaper), which cost more than running them: 0.6 ms of planning per status write.
      afterCreate: (
        connection: PgConnection & { query(sql: string, done: (err?: Error) => void): void },
        done: (err: Error | undefined, c: unknown) => void,
      ) => {
        discardOnTimeout(connection);
        connection.query('set plan_cache_mode = force_generic_plan', (err?: Error) => done(err, connection));
      },
    },
    // Never let a request hang on a dead database: fail fast and answer 503.
    acquireConnectionTimeout: waitMs,
    migrations: { migrationSource, tableName: 'knex_migrations' },
  });
}

// Arbitrary constant: every process that migrates takes this advisory lock first.
const MIGRATION_LOCK_KEY = 7_344_210_551;

/**
 * Runs pending migrations. Safe when several processes start at once: they
 * queue on a Postgres advisory lock, and the later ones find nothing to do.
 */
export async function migrate(db: Db): Promise<string[]> {
  // Unbounded: a migration may rewrite a large table, and waits on the lock for another process's.
  const { connectionString } = db.client.config.connection as { connectionString: string };
  const unbounded = createDb(connectionString, { poolMax: 3, queryTimeoutMs: 0 });
  try {
    const connection = await unbounded.client.acquireConnection();
    try {
      await unbounded.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK_KEY]).connection(connection);
      try {
        const [, applied] = (await unbounded.migrate.latest()) as [number, string[]];
        return applied;
      } finally {
        await unbounded.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK_KEY]).connection(connection);
      }
    } finally {
      await unbounded.client.releaseConnection(connection);
    }
  } finally {
    await unbounded.destroy();
  }
}

/**
 * Runs a statement of the hot paths (accepting a send, status changes, key
 * writes) as a named prepared statement: each connection parses and plans it
 * once instead of on every call. `text` uses $1, $2... placeholders.
 */
export async function preparedQuery<T = Record<string, unknown>>(db: Db, name: string, text: string, values: unknown[]): Promise<T[]> {
  // It takes its own pooled connection: inside a transaction it would run outside it.
  if ((db as { isTransaction?: boolean }).isTransaction) throw new Error(`prepared statement ${name} cannot run inside a transaction`);
  const connection = (await db.client.acquireConnection()) as {
    query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }>;
  };
  try {
    return (await connection.query({ name, text, values })).rows;
  } finally {
    await db.client.releaseConnection(connection);
  }
}

/** Whether Postgres answers: one trivial statement (the health probe). */
export async function ping(db: Db): Promise<void> {
  await db.raw('select 1');
}
