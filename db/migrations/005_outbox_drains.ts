import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  // An instance's outbox is being drained by a live activity until `active_until`:
  // new messages then only need a NOTIFY, not a Temporal signal (see db/outbox.ts).
  await knex.schema.createTable('outbox_drains', (t) => {
    t.string('instance_id', 64).primary().references('instances.id').onDelete('CASCADE');
    t.string('worker_id', 255);
    t.timestamp('active_until', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTableIfExists('outbox_drains');
}
