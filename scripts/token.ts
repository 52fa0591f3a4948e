// `npm run token`: prints the API token (configured or generated and stored).
import { loadConfigOrExit } from '../config/index.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createDb } from '../db/knex.js';

const config = loadConfigOrExit();
const stackFile = join(config.DATA_DIR, 'stack.json');
const databaseUrl =
  config.DATABASE_URL ??
  (() => {
    try {
      return (JSON.parse(readFileSync(stackFile, 'utf8')) as { databaseUrl?: string }).databaseUrl;
    } catch {
      return undefined;
    }
  })();
if (config.API_TOKEN) {
  process.stdout.write(`${config.API_TOKEN}\n`);
} else if (!databaseUrl) {
  process.stderr.write('the token is stored in the database: run this while `npm start` runs, or set DATABASE_URL\n');
  process.exit(1);
} else {
  const db = createDb(databaseUrl);
  const row = await db('app_settings').where({ key: 'api_token' }).first('value');
  await db.destroy();
  if (!row) {
    process.stderr.write('no token generated yet: start the API once\n');
    process.exit(1);
  }
  process.stdout.write(`${row.value}\n`);
}
