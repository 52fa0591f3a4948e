import type { Knex } from 'knex';

// Broker sinks (RabbitMQ, NATS): how far each has published the event log (db/eventLog.ts's cursor), advanced
// only once the broker confirmed, and whether it fails now, for /ready and /metrics.
export async function up(knex: Knex): Promise<void> {
  await knex.raw(`create table event_sinks (
    name text primary key,
    txid xid8 not null,
    seq bigint not null,
    published bigint not null default 0,
    last_published_at timestamptz,
    failing_since timestamptz,
    last_error text,
    updated_at timestamptz not null default now())`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('event_sinks');
}
