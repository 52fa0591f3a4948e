// `npm run token`: prints the API token (configured or generated and stored).
import { loadConfigOrExit } from '../config/index.js';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createDb } from '../db/knex.js';
import { storedApiToken } from '../db/appSettings.js';

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
  process.stderr.write(
    `the token is stored in the database, and ${resolve(stackFile)} (which \`npm start\` and \`npm run demo\` write when ready) ` +
      'does not exist: give the DATA_DIR the stack runs with, or set DATABASE_URL\n',
  );
  process.exit(1);
} else {
  const db = createDb(databaseUrl);
  const token = await storedApiToken(db).catch(async (err: Error) => {
    await db.destroy();
    process.stderr.write(
      `the database at ${new URL(databaseUrl).host} (from ${config.DATABASE_URL ? 'DATABASE_URL' : resolve(stackFile)}) did not answer: ${err.message}; is the stack running?\n`,
    );
    process.exit(1);
  });
  await db.destroy();
  if (!token) {
    process.stderr.write('no token generated yet: start the API once\n');
    process.exit(1);
  }
  process.stdout.write(`${token}\n`);
}
