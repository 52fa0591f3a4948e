import type { Knex } from 'knex';

// The session workers that are up, each with its own task queue: a session is placed on the one with the
// most room (activities/general.ts: placeSession), and a worker holding more than its share hands the rest
// over (worker/sessionSpread.ts). Each worker refreshes its row every quarter of the session heartbeat
// timeout; a row older than half of it is a worker gone.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('session_workers', (t) => {
    t.string('worker_id', 128).primary();
    t.string('task_queue', 255).notNullable();
    t.timestamp('seen_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.raw('create index session_leases_worker on session_leases (worker_id)');
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop index if exists session_leases_worker');
  await knex.schema.dropTable('session_workers');
}
