import knexFactory, { type Knex } from 'knex';
import { migrationSource } from './migrations/index.js';

export type Db = Knex;

export function createDb(databaseUrl: string, options: { poolMax?: number } = {}): Db {
  return knexFactory({
    client: 'pg',
    connection: { connectionString: databaseUrl, connectionTimeoutMillis: 5_000, application_name: 'wa-gateway' },
    pool: {
      min: 0,
      max: options.poolMax ?? 10,
      // The hot paths' named statements (preparedQuery) are planned once per connection. Left to
      // choose, Postgres re-plans the ones over small arrays every time (their custom plans look
      // cheaper), which cost more than running them: 0.6 ms of planning per status write.
      afterCreate: (connection: { query(sql: string, done: (err?: Error) => void): void }, done: (err: Error | undefined, c: unknown) => void) =>
        connection.query('set plan_cache_mode = force_generic_plan', (err) => done(err, connection)),
    },
    // Never let a request hang on a dead database: fail fast and answer 503.
    acquireConnectionTimeout: 5_000,
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
  const connection = await db.client.acquireConnection();
  try {
    await db.raw('select pg_advisory_lock(?)', [MIGRATION_LOCK_KEY]).connection(connection);
    try {
      const [, applied] = (await db.migrate.latest()) as [number, string[]];
      return applied;
    } finally {
      await db.raw('select pg_advisory_unlock(?)', [MIGRATION_LOCK_KEY]).connection(connection);
    }
  } finally {
    await db.client.releaseConnection(connection);
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
  const connection = (await db.client.acquireConnection()) as { query(q: { name: string; text: string; values: unknown[] }): Promise<{ rows: T[] }> };
  try {
    return (await connection.query({ name, text, values })).rows;
  } finally {
    await db.client.releaseConnection(connection);
  }
}
