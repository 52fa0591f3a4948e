import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // Events written by one transaction share created_at; seq keeps the order they were written in
  // (sent before delivered before read), which webhook delivery must follow.
  await knex.schema.alterTable('webhook_events', (t) => {
    t.bigIncrements('seq', { primaryKey: false });
    t.index(['instance_id', 'seq']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('webhook_events', (t) => t.dropColumn('seq'));
}
