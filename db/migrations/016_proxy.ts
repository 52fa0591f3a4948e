import type { Knex } from 'knex';

// A per-instance proxy (http://, https://, socks5://, with optional credentials) for the session's
// WhatsApp connections: the websocket and the media uploads and downloads.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instance_settings', (t) => {
    t.string('proxy_url', 2_048);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instance_settings', (t) => t.dropColumn('proxy_url'));
}
