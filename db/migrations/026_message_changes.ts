import type { Knex } from 'knex';

// Edits and deletions for everyone (issue 33): a message keeps its current body, when it was last edited and the
// versions it had (`edits`: [{ body, previous, editedAt }]); a deleted one is marked, and by default its body,
// edits and media are erased (an instance may keep them: `keep_revoked`).
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.bigInteger('edited_at');
    t.jsonb('edits');
    t.bigInteger('revoked_at');
    t.text('revoked_by');
  });
  await knex.schema.alterTable('instance_settings', (t) => {
    t.boolean('keep_revoked');
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('messages', (t) => {
    t.dropColumn('edited_at');
    t.dropColumn('edits');
    t.dropColumn('revoked_at');
    t.dropColumn('revoked_by');
  });
  await knex.schema.alterTable('instance_settings', (t) => {
    t.dropColumn('keep_revoked');
  });
}
