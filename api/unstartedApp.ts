/**
 * The app as the API builds it, connected to nothing and never started: what
 * it serves, for the OpenAPI document without a running gateway
 * (`npm run openapi`, test/openapi.test.ts).
 */
import type { Express } from 'express';
import { loadConfig } from '../config/index.js';
import { createDb } from '../db/knex.js';
import { createLogger } from '../lib/logger.js';
import { createLocalMediaStore } from '../media/store.js';
import { createTemporalClient } from '../temporal/client.js';
import { createApp } from './app.js';
import { SendWaiter } from './sendWaiter.js';
import { PgListener } from '../db/pgListener.js';
import { EventHub } from './events/hub.js';

export function unstartedApp(): { app: Express; close(): Promise<void> } {
  const config = loadConfig({ ...process.env, DATABASE_URL: 'postgres://unused@127.0.0.1:1/unused', TEMPORAL_ADDRESS: '127.0.0.1:1' });
  const db = createDb(config.DATABASE_URL!);
  const logger = createLogger('silent', 'api');
  // Never started: nothing to listen to.
  const listener = new PgListener(config.DATABASE_URL!, logger);
  const app = createApp({
    config,
    db,
    temporal: createTemporalClient(config.TEMPORAL_ADDRESS!, 'default'),
    logger,
    apiToken: 'unused',
    media: createLocalMediaStore({ db, dataDir: config.DATA_DIR, publicUrl: config.PUBLIC_URL }),
    waiter: new SendWaiter(listener),
    events: new EventHub(db, listener, logger),
  });
  return { app, close: () => db.destroy() };
}
