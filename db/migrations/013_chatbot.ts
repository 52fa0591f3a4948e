import type { Knex } from 'knex';

// The chatbot. Every outgoing message records where it came from (`source`: api, phone, chatbot, bulk,
// scheduled; null for incoming messages and for messages stored before this migration); a bot reply also
// records its rule and the incoming message it answers. Two small partial indexes serve the bot's checks
// before each reply: did a person write in this chat lately (api or phone), and how many replies did the
// bot send here in the last minute.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.string('source', 16);
    t.integer('rule_id');
    t.string('reply_to', 128);
  });
  await knex.raw(`create index messages_human_writes on messages (instance_id, chat_id, timestamp) where source in ('api', 'phone')`);
  await knex.raw(`create index messages_chatbot_replies on messages (instance_id, chat_id, created_at) where source = 'chatbot'`);
  await knex.schema.alterTable('instance_settings', (t) => {
    t.integer('chatbot_pause_minutes').notNullable().defaultTo(30);
    t.integer('chatbot_replies_per_minute').notNullable().defaultTo(5);
    t.string('timezone', 64).notNullable().defaultTo('Europe/Istanbul');
  });
  await knex.schema.alterTable('chatbot_rules', (t) => {
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('chatbot_rules', (t) => t.dropColumn('updated_at'));
  await knex.schema.alterTable('instance_settings', (t) => {
    t.dropColumn('chatbot_pause_minutes');
    t.dropColumn('chatbot_replies_per_minute');
    t.dropColumn('timezone');
  });
  await knex.raw('drop index if exists messages_chatbot_replies');
  await knex.raw('drop index if exists messages_human_writes');
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('source');
    t.dropColumn('rule_id');
    t.dropColumn('reply_to');
  });
}
