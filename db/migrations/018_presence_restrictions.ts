import type { Knex } from 'knex';

// Typing before a send (issue 21): how long the outbox shows "composing" before a message, kept with the
// message so a resumed or retried send types again; and a campaign's typing setting.
// WhatsApp's account restrictions (message capping, reach-out timelock) per instance, and which campaigns
// the gateway paused because of one (so lifting it resumes those and not the ones a user paused).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.integer('typing_ms');
  });
  await knex.schema.alterTable('bulk_jobs', (t) => {
    // Fixed typing time per message, or (typing_auto) one that follows each message's length (domain/typing.ts).
    t.integer('typing_ms');
    t.boolean('typing_auto').notNullable().defaultTo(false);
    // 'restriction' when the gateway paused it because WhatsApp restricted the account; null for a user's pause.
    t.string('paused_by', 16);
  });
  await knex.schema.createTable('instance_restrictions', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    // 'messageCapping' or 'reachoutTimelock'
    t.string('kind', 32).notNullable();
    t.boolean('active').notNullable();
    // When WhatsApp said it ends (null: not said).
    t.timestamp('until', { useTz: true });
    // What WhatsApp reported, as the API shows it.
    t.jsonb('details').notNullable().defaultTo('{}');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'kind']);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('instance_restrictions');
  await knex.schema.alterTable('bulk_jobs', (t) => {
    t.dropColumn('typing_ms');
    t.dropColumn('typing_auto');
    t.dropColumn('paused_by');
  });
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('typing_ms');
  });
}
