import type { Knex } from 'knex';

// Only a person pauses the chatbot in a chat: a message written on the phone (`phone`) or a send marked as a
// person's (`person`); the API's sends (`api`) are automated, like campaigns and schedules. The partial index
// of a person's writes follows, and a chat records when its pause was lifted by hand (`bot_resumed_at`,
// seconds since the epoch, as messages.timestamp): a person's messages up to then no longer pause the bot.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists messages_human_writes');
  await knex.raw(`create index messages_person_writes on messages (instance_id, chat_id, timestamp) where source in ('phone', 'person')`);
  await knex.schema.alterTable('chats', (t) => {
    t.bigInteger('bot_resumed_at');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('chats', (t) => t.dropColumn('bot_resumed_at'));
  await knex.raw('drop index if exists messages_person_writes');
  await knex.raw(`create index messages_human_writes on messages (instance_id, chat_id, timestamp) where source in ('api', 'phone')`);
}
