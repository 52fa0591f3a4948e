import type { Knex } from 'knex';

// Scheduled messages go through the outbox as messages with the idempotency key
// `scheduled {id}` (a space, which no key a client sends can contain). When such a message first leaves `pending` (sent, or
// failed), a trigger records it on its scheduled message in the same
// transaction, with a `scheduled_sent` or `scheduled_failed` webhook event
// (only while the instance has a webhook, like every event: db/events.ts).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('scheduled_messages', (t) => {
    t.timestamp('sent_at', { useTz: true });
    // What goes out, as the outbox stores it (domain/content.ts), built when the message is scheduled.
    t.jsonb('content');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw(`
    create function track_scheduled_send() returns trigger language plpgsql as $$
    declare
      scheduled scheduled_messages;
    begin
      update scheduled_messages s
         set status = case when new.status = 'failed' then 'failed' else 'sent' end,
             error = new.error, sent_at = coalesce(new.sent_at, now()), updated_at = now()
       where s.instance_id = new.instance_id and s.id = substring(new.idempotency_key from 11)::int and s.status = 'pending'
       returning * into scheduled;
      if found and exists (select 1 from instance_settings ws where ws.instance_id = new.instance_id and ws.webhook_enabled and ws.webhook_url is not null) then
        insert into webhook_events (id, instance_id, event, data, timestamp)
        values (gen_random_uuid(), new.instance_id, case when new.status = 'failed' then 'scheduled_failed' else 'scheduled_sent' end,
                jsonb_strip_nulls(jsonb_build_object(
                  'id', scheduled.id, 'messageId', new.id, 'chatId', new.chat_id,
                  'scheduledAt', to_char(scheduled.scheduled_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'sentAt', case when new.status <> 'failed' then to_char(scheduled.sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') end,
                  'error', new.error)),
                (extract(epoch from now()) * 1000)::bigint);
      end if;
      return null;
    end $$`);
  await knex.raw(`
    create trigger messages_scheduled_sent after update of status on messages for each row
    when (old.status = 'pending' and new.status <> 'pending' and new.idempotency_key like 'scheduled %')
    execute function track_scheduled_send()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists messages_scheduled_sent on messages');
  await knex.raw('drop function if exists track_scheduled_send()');
  await knex.schema.alterTable('scheduled_messages', (t) => {
    t.dropColumn('sent_at');
    t.dropColumn('content');
    t.dropColumn('updated_at');
  });
}
