import type { Knex } from 'knex';

// Durable webhook delivery (activities/webhooks.ts).
// - Each event keeps its delivery state: the last answer, when it may be tried
//   again (per event, so one event a receiver keeps refusing cannot hold back
//   the others for good) and every attempt made (the delivery log).
// - `webhook_receivers` is what the delivery of an instance knows of its
//   receiver: a drain running (like outbox_drains) or the time of the next
//   probe while it fails. The dispatcher reads it to decide whether a new
//   event needs a Temporal signal.
// - Every insert NOTIFYs `wa_webhook` once per instance and transaction
//   (Postgres folds identical payloads of one transaction into one), so a
//   running drain takes new events at once.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('webhook_events', (t) => {
    t.integer('last_status_code');
    t.timestamp('next_attempt_at', { useTz: true });
    t.jsonb('attempt_log').notNullable().defaultTo('[]');
    // A delivery sent again on request gets a new retry window from then.
    t.timestamp('requeued_at', { useTz: true });
  });
  await knex.raw(`create index webhook_events_pending on webhook_events (instance_id, seq) where delivery_status = 'pending'`);
  await knex.raw('create index webhook_events_log on webhook_events (instance_id, seq desc)');
  await knex.raw('drop index if exists webhook_events_delivery_status_created_at_index');
  await knex.raw("create index webhook_events_finished on webhook_events (created_at) where delivery_status <> 'pending'");

  await knex.schema.createTable('webhook_receivers', (t) => {
    t.string('instance_id', 64).primary().references('instances.id').onDelete('CASCADE');
    t.timestamp('active_until', { useTz: true });
    t.timestamp('retry_at', { useTz: true });
    t.timestamp('failing_since', { useTz: true });
    t.text('last_error');
  });

  await knex.raw(`
    create function notify_webhook_events() returns trigger language plpgsql as $$
    begin
      perform pg_notify('wa_webhook', instance_id) from (select distinct instance_id from new_events) as i;
      return null;
    end $$`);
  await knex.raw(`
    create trigger webhook_events_notify after insert on webhook_events
    referencing new table as new_events for each statement execute function notify_webhook_events()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists webhook_events_notify on webhook_events');
  await knex.raw('drop function if exists notify_webhook_events()');
  await knex.schema.dropTableIfExists('webhook_receivers');
  await knex.raw('drop index if exists webhook_events_pending');
  await knex.raw('drop index if exists webhook_events_log');
  await knex.raw('drop index if exists webhook_events_finished');
  await knex.raw(
    'create index if not exists webhook_events_delivery_status_created_at_index on webhook_events (delivery_status, created_at)',
  );
  await knex.schema.alterTable('webhook_events', (t) => {
    t.dropColumn('last_status_code');
    t.dropColumn('next_attempt_at');
    t.dropColumn('attempt_log');
    t.dropColumn('requeued_at');
  });
}
