import type { Knex } from 'knex';

// The event log that streams resume from (db/eventLog.ts, api/events/).
// - Every event is recorded now, with or without a webhook: `delivery_status`
//   is 'none' for an event no webhook was waiting for, and a stream or a broker
//   can still read it until the retention prunes it.
// - `txid`: the recording transaction's id. `seq` is drawn at insert, not at
//   commit, so a reader following seq alone could pass an event that commits
//   later with a lower seq. Read in (txid, seq) order, and only below the
//   oldest transaction still running, the log only ever grows at its end.
// - `event_log_state.pruned_*`: the greatest cursor the retention deleted; a
//   stream asked to resume from before it would have a gap, and is refused.
// - Two indexes no query uses are dropped: every event is written now.
// - The insert trigger NOTIFYs `wa_webhook` only for events a webhook waits
//   for, and `wa_events` once per statement for every event.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('alter table webhook_events add column txid xid8');
  await knex.raw('update webhook_events set txid = pg_current_xact_id()');
  await knex.raw('alter table webhook_events alter column txid set default pg_current_xact_id(), alter column txid set not null');
  await knex.raw('create index webhook_events_cursor on webhook_events (txid, seq)');
  await knex.raw('create index webhook_events_instance_cursor on webhook_events (instance_id, txid, seq)');
  // Every event is written now, so each index costs every send: two that no query uses go. (instance_id, seq)
  // is webhook_events_log's (migration 010) read the other way; nothing reads by (instance_id, created_at).
  await knex.raw('drop index if exists webhook_events_instance_id_seq_index');
  await knex.raw('drop index if exists webhook_events_instance_id_created_at_index');

  await knex.raw(`create table event_log_state (
    id int primary key default 1 check (id = 1),
    pruned_txid xid8 not null default '0',
    pruned_seq bigint not null default 0)`);
  await knex.raw('insert into event_log_state (id) values (1)');

  await knex.raw(`
    create or replace function notify_webhook_events() returns trigger language plpgsql as $$
    begin
      perform pg_notify('wa_webhook', instance_id) from (select distinct instance_id from new_events where delivery_status = 'pending') as i;
      perform pg_notify('wa_events', '') where exists (select 1 from new_events);
      return null;
    end $$`);

  await knex.raw(trackScheduledSend(true));
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw(`
    create or replace function notify_webhook_events() returns trigger language plpgsql as $$
    begin
      perform pg_notify('wa_webhook', instance_id) from (select distinct instance_id from new_events) as i;
      return null;
    end $$`);
  await knex.raw(trackScheduledSend(false));
  await knex.raw(`delete from webhook_events where delivery_status = 'none'`);
  await knex.raw('drop table if exists event_log_state');
  await knex.raw('create index if not exists webhook_events_instance_id_seq_index on webhook_events (instance_id, seq)');
  await knex.raw('create index if not exists webhook_events_instance_id_created_at_index on webhook_events (instance_id, created_at)');
  await knex.raw('drop index if exists webhook_events_cursor');
  await knex.raw('drop index if exists webhook_events_instance_cursor');
  await knex.raw('alter table webhook_events drop column txid');
}

const WEBHOOK_ON = `exists (select 1 from instance_settings ws where ws.instance_id = new.instance_id and ws.webhook_enabled and ws.webhook_url is not null)`;

/** Migration 011's trigger function: with `always`, the event is recorded with or without a webhook. */
const trackScheduledSend = (always: boolean) => `
  create or replace function track_scheduled_send() returns trigger language plpgsql as $$
  declare
    scheduled scheduled_messages;
  begin
    update scheduled_messages s
       set status = case when new.status = 'failed' then 'failed' else 'sent' end,
           error = new.error, sent_at = coalesce(new.sent_at, now()), updated_at = now()
     where s.instance_id = new.instance_id and s.id = substring(new.idempotency_key from 11)::int and s.status = 'pending'
     returning * into scheduled;
    if found and ${always ? 'true' : WEBHOOK_ON} then
      insert into webhook_events (id, instance_id, event, data, timestamp, delivery_status)
      values (gen_random_uuid(), new.instance_id, case when new.status = 'failed' then 'scheduled_failed' else 'scheduled_sent' end,
              jsonb_strip_nulls(jsonb_build_object(
                'id', scheduled.id, 'messageId', new.id, 'chatId', new.chat_id,
                'scheduledAt', to_char(scheduled.scheduled_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                'sentAt', case when new.status <> 'failed' then to_char(scheduled.sent_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') end,
                'error', new.error)),
              (extract(epoch from now()) * 1000)::bigint,
              case when ${WEBHOOK_ON} then 'pending' else 'none' end);
    end if;
    return null;
  end $$`;
