// First: every AsyncLocalStorage made after this shares one (see worker/asyncContext.ts).
import './asyncContext.js';
import { loadConfigOrExit } from '../config/index.js';
import { captureConsole, createLogger } from '../lib/logger.js';
import { createBaileysDriver } from '../whatsapp/baileys/driver.js';
import { runWorker } from './run.js';

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'worker', config.LOG_FORMAT);
captureConsole(logger);
const driver = createBaileysDriver({ wsUrl: config.WA_WS_URL, version: config.WA_VERSION, caFile: config.WA_CA_FILE });

runWorker({ config, driver, logger }).then(
  // Baileys leaves timers behind closed sockets (query timeouts up to a minute): exit now that all is handed over.
  () => process.exit(0),
  (err) => {
    logger.fatal({ err }, 'worker failed');
    process.exit(1);
  },
);
