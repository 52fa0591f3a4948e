import type { Knex } from 'knex';

// Conversation flows' runs as their workflows write them (issue 34): each write numbered (`seq`), so a retried
// older write never overwrites a newer one; and a chat handed to a person by a flow (`chats.handoff_at`), which
// pauses the chatbot and flows there as a person's message does.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('flow_runs', (t) => {
    t.integer('seq').notNullable().defaultTo(0);
    /** Why a run failed or was cancelled. */
    t.text('reason');
  });
  await knex.schema.alterTable('chats', (t) => {
    /** When a flow last handed the chat to a person (seconds since the epoch). */
    t.bigInteger('handoff_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('chats', (t) => t.dropColumn('handoff_at'));
  await knex.schema.alterTable('flow_runs', (t) => {
    t.dropColumn('seq');
    t.dropColumn('reason');
  });
}
