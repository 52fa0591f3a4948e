import type { Knex } from 'knex';

// Conversation flows (issue 34): the flows of an instance (each save a new version; a run keeps the version it
// started with), and their runs, one per chat at a time.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('flows', (t) => {
    t.bigIncrements('id');
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.text('name').notNullable();
    t.boolean('enabled').notNullable().defaultTo(true);
    t.jsonb('trigger').notNullable();
    t.jsonb('steps').notNullable();
    t.integer('version').notNullable().defaultTo(1);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['instance_id', 'id']);
  });
  await knex.schema.createTable('flow_runs', (t) => {
    t.text('run_id').primary();
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.bigInteger('flow_id').notNullable();
    t.integer('flow_version').notNullable();
    t.text('chat_id').notNullable();
    /** running, waiting, completed, handoff, cancelled, failed */
    t.text('status').notNullable();
    t.text('step');
    t.jsonb('vars').notNullable().defaultTo('{}');
    t.jsonb('history').notNullable().defaultTo('[]');
    t.timestamp('started_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('ended_at', { useTz: true });
    t.index(['instance_id', 'flow_id', 'started_at']);
  });
  // One live run per chat: the contact's messages go to it.
  await knex.raw(
    `create unique index flow_runs_live_chat on flow_runs (instance_id, chat_id) where status in ('running', 'waiting')`,
  );
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('flow_runs');
  await knex.schema.dropTable('flows');
}
