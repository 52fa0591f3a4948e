import type { Knex } from 'knex';

// Incoming calls: one row per call WhatsApp offered the account, with how it ended (offered while it rings,
// rejected by the gateway or another device, missed, accepted on another device). Two settings decline calls
// by themselves, with an optional text reply to the caller.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('calls', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('id', 128).notNullable();
    t.string('from_jid', 128).notNullable();
    t.boolean('video').notNullable().defaultTo(false);
    t.boolean('is_group').notNullable().defaultTo(false);
    t.string('status', 24).notNullable();
    t.bigInteger('timestamp').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'id']);
  });
  await knex.raw(`alter table calls add constraint calls_status check (status in ('offered', 'rejected', 'missed', 'accepted-elsewhere'))`);
  await knex.raw('create index calls_recent on calls (instance_id, timestamp desc)');
  // The sweep that ends calls whose end never came (db/calls.ts missUnendedCalls) reads the ringing ones only.
  await knex.raw(`create index calls_ringing on calls (timestamp) where status = 'offered'`);
  await knex.schema.alterTable('instance_settings', (t) => {
    t.boolean('reject_calls').notNullable().defaultTo(false);
    t.text('reject_calls_message');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instance_settings', (t) => {
    t.dropColumn('reject_calls');
    t.dropColumn('reject_calls_message');
  });
  await knex.schema.dropTable('calls');
}
