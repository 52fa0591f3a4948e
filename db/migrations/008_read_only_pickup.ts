import type { Knex } from 'knex';

// The outbox no longer marks the messages it picks up (a row version and an
// entry in every index of `messages` per message sent): `sent_at` is the
// moment the session worker put the message on the socket, and failed sends
// are counted in `send_failures`.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('send_attempts');
    t.dropColumn('last_attempt_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.integer('send_attempts').notNullable().defaultTo(0);
    t.timestamp('last_attempt_at', { useTz: true });
  });
}
