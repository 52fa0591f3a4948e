// A real worker process whose WhatsApp driver is the fake (see fakeDriver.ts).
import { loadConfigOrExit } from '../../config/index.js';
import { createLogger } from '../../lib/logger.js';
import { runWorker } from '../../worker/run.js';
import { createFakeDriver } from './fakeDriver.js';

const config = loadConfigOrExit();
const logger = createLogger(config.LOG_LEVEL, 'worker');
const driver = createFakeDriver({
  qrRefs: Number(process.env.FAKE_QR_REFS ?? 6),
  qrIntervalMs: Number(process.env.FAKE_QR_INTERVAL_MS ?? 1_000),
  acceptSends: process.env.FAKE_ACCEPT_SENDS === '1',
  logSends: process.env.FAKE_LOG_SENDS === '1',
});
runWorker({ config, driver, logger }).catch((err) => {
  logger.fatal({ err }, 'worker failed');
  process.exit(1);
});
