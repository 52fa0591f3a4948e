import type { Knex } from 'knex';

// Votes on polls (issue 33): each voter's current choice per poll (a later vote replaces it; none chosen is a
// withdrawn vote), opened with the poll's key, which the poll's `content` keeps (`secret`).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('poll_votes', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.text('poll_id').notNullable();
    t.text('voter').notNullable();
    t.text('voter_lid');
    t.jsonb('selected').notNullable();
    /** When the vote was cast (ms since the epoch): an older vote heard late does not replace a newer one. */
    t.bigInteger('voted_at').notNullable();
    t.primary(['instance_id', 'poll_id', 'voter']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('poll_votes');
}
