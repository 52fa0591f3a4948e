import type { Knex } from 'knex';

// Lease epochs come from one sequence, so an epoch is never handed out twice.
// Counted per row, they restarted at 1 whenever a lease row was deleted (a
// session that ended, a logout), and a holder presumed dead from an earlier
// lease could find its old epoch current again and write.
export async function up(knex: Knex): Promise<void> {
  await knex.raw('create sequence session_lease_epochs as bigint');
  await knex.raw(`select setval('session_lease_epochs', coalesce((select max(epoch) from session_leases), 0) + 1, false)`);
}

export async function down(knex: Knex): Promise<void> {
  await knex.raw('drop sequence if exists session_lease_epochs');
}
