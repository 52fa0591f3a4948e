import type { Knex } from 'knex';
import * as init from './001_init.js';
import * as sending from './002_sending.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Migrations are listed here rather than discovered on disk, so they run the
// same from TypeScript sources, a bundle or a container image.
const migrations: Record<string, Migration> = {
  '001_init': init,
  '002_sending': sending,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};
