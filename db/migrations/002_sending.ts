import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    // How often a send was attempted: a retry after a crash resends the same id.
    t.integer('send_attempts').notNullable().defaultTo(0);
    t.timestamp('sent_at', { useTz: true });
  });
  await knex.schema.alterTable('contacts', (t) => {
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('send_attempts');
    t.dropColumn('sent_at');
  });
  await knex.schema.alterTable('contacts', (t) => t.dropColumn('updated_at'));
}
