// Prints the OpenAPI document (`npm run openapi > openapi.json`) without a running stack: the app is built, not started.
import { createApp } from '../api/app.js';
import { loadConfig } from '../config/index.js';
import { createDb } from '../db/knex.js';
import { createLogger } from '../lib/logger.js';
import { createTemporalClient } from '../lib/temporalClient.js';
import { createLocalMediaStore } from '../lib/mediaStore.js';
import { SendWaiter } from '../api/sendWaiter.js';
import { gatewayDocument } from '../api/apiDocs.js';

const config = loadConfig({ ...process.env, DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused', TEMPORAL_ADDRESS: '127.0.0.1:1' });
const db = createDb(config.DATABASE_URL!);
const logger = createLogger('silent', 'api');
const app = createApp({
  config,
  db,
  temporal: createTemporalClient(config.TEMPORAL_ADDRESS!, 'default'),
  logger,
  apiToken: 'unused',
  media: createLocalMediaStore({ db, dataDir: config.DATA_DIR, publicUrl: config.PUBLIC_URL }),
  waiter: new SendWaiter(config.DATABASE_URL!, logger),
});
process.stdout.write(JSON.stringify(gatewayDocument(app), null, 2) + '\n');
await db.destroy();
