import type { Knex } from 'knex';

// A session's lease carries the Temporal task token of the activity holding it. A lease no longer renewed
// is a holder gone: the general workers' sweep fails that activity by its token (worker/sweeps.ts), so
// Temporal's own heartbeats can be rare (a thousand sessions made 200 heartbeat calls a second).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('session_leases', (t) => {
    t.binary('task_token').nullable();
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('session_leases', (t) => {
    t.dropColumn('task_token');
  });
}
