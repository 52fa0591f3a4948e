import type { Knex } from 'knex';

// Tokens that reach one instance only (api/tokens.ts), besides the admin token. Only their SHA-256 is kept.
export async function up(knex: Knex): Promise<void> {
  await knex.schema.createTable('api_tokens', (t) => {
    t.string('id', 32).primary();
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('name', 100);
    t.specificType('scopes', 'text[]').notNullable();
    // hex SHA-256 of the token; the token itself is shown once, when it is made.
    t.string('hash', 64).notNullable().unique();
    // The token's first characters, to tell tokens apart in a list.
    t.string('prefix', 16).notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('revoked_at', { useTz: true });
  });
}

export async function down(knex: Knex): Promise<void> {
  await knex.schema.dropTable('api_tokens');
}
