import type { Knex } from 'knex';

// A per-instance proxy (http://, https://, socks5://, with optional credentials) for the session's
// WhatsApp connections: the websocket and the media uploads and downloads. And why a session that is
// not open last failed to connect (a proxy refusing the credentials, say), for GET .../status.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instance_settings', (t) => {
    t.string('proxy_url', 2_048);
  });
  await knex.schema.alterTable('instances', (t) => {
    t.string('last_error', 500);
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.alterTable('instances', (t) => t.dropColumn('last_error'));
  await knex.schema.alterTable('instance_settings', (t) => t.dropColumn('proxy_url'));
}
