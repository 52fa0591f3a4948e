import type { Knex } from 'knex';

// The sender's (or caller's) LID beside its phone number (`from_jid`), when WhatsApp gave one: clients need not
// map LIDs.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.text('from_lid');
  });
  await knex.schema.alterTable('calls', (t) => {
    t.text('from_lid');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('from_lid');
  });
  await knex.schema.alterTable('calls', (t) => {
    t.dropColumn('from_lid');
  });
}
