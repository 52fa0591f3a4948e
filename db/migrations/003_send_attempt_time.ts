import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    // When the outbox last began sending the message (what a stuck send and the send benchmark look at).
    t.timestamp('last_attempt_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => t.dropColumn('last_attempt_at'));
}
