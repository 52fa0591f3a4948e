import type { Knex } from 'knex';

// Labels of a WhatsApp Business account (issue 33): the labels, synced with the phone through app-state patches,
// and which chats carry which.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('labels', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.text('id').notNullable();
    t.text('name').notNullable();
    /** WhatsApp's palette index, 0 to 19. */
    t.integer('color').notNullable().defaultTo(0);
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'id']);
  });
  await knex.schema.createTable('chat_labels', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.text('chat_id').notNullable();
    t.text('label_id').notNullable();
    t.primary(['instance_id', 'label_id', 'chat_id']);
    t.index(['instance_id', 'chat_id']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('chat_labels');
  await knex.schema.dropTable('labels');
}
