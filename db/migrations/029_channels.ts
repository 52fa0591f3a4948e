import type { Knex } from 'knex';

// Channels (newsletters) the account follows or owns (issue 33), as WhatsApp last described them.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('channels', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.text('id').notNullable();
    t.text('name').notNullable();
    t.text('description');
    t.text('invite');
    t.integer('subscribers').notNullable().defaultTo(0);
    /** The account's role: owner, admin, subscriber. */
    t.text('role').notNullable();
    t.bigInteger('created_at');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('channels');
}
