import type { Knex } from 'knex';

// The rate limit as a token bucket per token (api/middleware/rateLimit.ts) instead of fixed calendar
// minutes, which let twice the limit through across a minute's boundary.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_limit_buckets', (t) => {
    t.string('bucket', 64).primary();
    t.double('tokens').notNullable();
    // Whether the last request took a token (what the upsert that refills and takes returns).
    t.boolean('allowed').notNullable().defaultTo(true);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.dropTable('rate_limit_windows');
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.createTable('rate_limit_windows', (t) => {
    t.string('bucket', 64).notNullable();
    t.timestamp('window_start', { useTz: true }).notNullable();
    t.integer('count').notNullable().defaultTo(0);
    t.primary(['bucket', 'window_start']);
  });
  await knex.schema.dropTable('rate_limit_buckets');
}
