import type { Knex } from 'knex';

// What a send request with an Idempotency-Key asked for (a hash of its endpoint, recipient, content and
// typing): the same key with another request is refused instead of answered with the earlier message.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.string('request_fingerprint', 64);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => t.dropColumn('request_fingerprint'));
}
