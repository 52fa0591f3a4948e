import type { Server } from 'node:http';
import { loadConfigOrExit } from '../config/index.js';
import { createDb, migrate } from '../db/knex.js';
import { DEFAULT_INSTANCE_ID, ensureApiToken } from '../db/appSettings.js';
import { createInstance } from '../db/instances.js';
import { createLogger } from '../lib/logger.js';
import { createTemporalClient, ensureSearchAttributes } from '../temporal/client.js';
import { createApp } from './app.js';
import { watchPool, watchStoredState } from '../db/stats.js';
import { SendWaiter } from './sendWaiter.js';
import { PgListener } from '../db/pgListener.js';
import { EventHub } from './events/hub.js';
import { routeUpgrades } from './events/upgrade.js';
import { createMediaStore } from '../media/store.js';

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'api', config.LOG_FORMAT);

async function main(): Promise<void> {
  if (!config.DATABASE_URL || !config.TEMPORAL_ADDRESS) {
    throw new Error('DATABASE_URL and TEMPORAL_ADDRESS must be set for the API (npm start sets them)');
  }
  const db = createDb(config.DATABASE_URL, { queryTimeoutMs: config.DB_QUERY_TIMEOUT_MS });
  watchPool(db, 'api');
  watchStoredState(db);
  await migrate(db);
  await createInstance(db, DEFAULT_INSTANCE_ID, 'Default instance');

  let apiToken = config.API_TOKEN;
  if (!apiToken) {
    const stored = await ensureApiToken(db);
    apiToken = stored.token;
    // Printed once, by the process that generated it; never logged afterwards.
    if (stored.created) process.stdout.write(`\nAPI token (generated, stored in the database): ${apiToken}\n\n`);
  }

  const temporal = createTemporalClient(config.TEMPORAL_ADDRESS, config.TEMPORAL_NAMESPACE);
  // Workflows are started with search attributes: a fresh namespace needs them before the first start.
  // In the background, so the API serves (503 for Temporal's part) while Temporal is down.
  const registerSearchAttributes = () =>
    ensureSearchAttributes(temporal, logger).catch((err) => {
      logger.warn({ err: (err as Error).message }, 'registering Temporal search attributes failed; retrying');
      setTimeout(registerSearchAttributes, 5_000).unref();
    });
  void registerSearchAttributes();
  const listener = new PgListener(config.DATABASE_URL, logger);
  const waiter = new SendWaiter(listener);
  const events = new EventHub(db, listener, logger);
  events.start();
  await listener.start();
  const media = await createMediaStore(config, db);
  const app = createApp({ config, db, temporal, logger, apiToken, media, waiter, events });
  const server: Server = app.listen(config.PORT, () => {
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : config.PORT;
    logger.info({ port }, 'API listening');
    // Lets a supervisor (npm start, tests) learn the port when PORT=0.
    process.send?.({ type: 'listening', port });
  });
  // WebSocket routes (event streams) are served by the same app.
  routeUpgrades(server, app);

  const shutdown = (signal: string) => {
    logger.info({ signal }, 'API shutting down');
    // Open streams end first: their clients resume on another API process.
    void events.stop();
    server.close(() => {
      void Promise.allSettled([listener.stop(), db.destroy(), temporal.connection.close()]).then(() => process.exit(0));
    });
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 5_000).unref();
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

main().catch((err) => {
  logger.fatal({ err }, 'API failed to start');
  process.exit(1);
});
