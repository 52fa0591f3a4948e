import type { Knex } from 'knex';

// Bulk campaigns. Each recipient's message goes through the outbox with the
// idempotency key `bulk {jobId} {position}` (spaces: no client key has one);
// when it first leaves `pending`, a trigger marks the recipient `sent` (or
// `failed`, with the reason) in the same transaction. Opt-outs: the numbers
// that asked an instance not to be sent campaigns.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('bulk_jobs', (t) => {
    // Seconds between sends may be fractional (delay 0.5).
    t.double('delay_seconds').notNullable().defaultTo(3).alter();
    t.double('delay_max_seconds');
    t.text('caption');
    t.text('filename');
    // The message as the outbox stores it, `{name}` and `{phone}` still in it (domain/content.ts: MessageTemplate).
    t.jsonb('template');
    t.timestamp('start_at', { useTz: true });
    t.timestamp('started_at', { useTz: true });
  });
  await knex.raw(`create index bulk_recipients_pending on bulk_recipients (job_id, position) where status = 'pending'`);
  // Each recipient's status changes two or three times; an index on it is written each time, and the counts
  // per status read the job's rows through the primary key anyway.
  await knex.raw('drop index if exists bulk_recipients_job_id_status_index');

  await knex.schema.createTable('instance_optouts', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('jid', 128).notNullable();
    // 'keyword' (the contact wrote an opt-out keyword) or 'api'.
    t.string('source', 16).notNullable();
    t.text('keyword');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'jid']);
  });
  await knex.schema.alterTable('instance_settings', (t) => {
    t.text('opt_out_keywords');
  });

  await knex.raw(`
    create function track_campaign_send() returns trigger language plpgsql as $$
    begin
      update bulk_recipients r
         set status = case when new.status = 'failed' then 'failed' else 'sent' end, error = new.error, updated_at = now()
       where r.job_id = split_part(new.idempotency_key, ' ', 2)::int and r.position = split_part(new.idempotency_key, ' ', 3)::int
         and r.status = 'pending';
      return null;
    end $$`);
  await knex.raw(`
    create trigger messages_campaign_sent after update of status on messages for each row
    when (old.status = 'pending' and new.status <> 'pending' and new.idempotency_key like 'bulk %')
    execute function track_campaign_send()`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop trigger if exists messages_campaign_sent on messages');
  await knex.raw('drop function if exists track_campaign_send()');
  await knex.schema.alterTable('instance_settings', (t) => t.dropColumn('opt_out_keywords'));
  await knex.schema.dropTableIfExists('instance_optouts');
  await knex.raw('drop index if exists bulk_recipients_pending');
  await knex.raw('create index if not exists bulk_recipients_job_id_status_index on bulk_recipients (job_id, status)');
  await knex.schema.alterTable('bulk_jobs', (t) => {
    t.integer('delay_seconds').notNullable().defaultTo(3).alter();
    for (const column of ['delay_max_seconds', 'caption', 'filename', 'template', 'start_at', 'started_at']) t.dropColumn(column);
  });
}
