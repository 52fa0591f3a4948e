import express, { type Express } from 'express';
import type { Client } from '@temporalio/client';
import type { Config } from '../config/index.js';
import type { Db } from '../db/knex.js';
import type { Logger } from '../lib/logger.js';
import { SessionControl } from '../temporal/sessions.js';
import { adminOnly, instanceAccess, requireToken } from './middleware/auth.js';
import { tokensRouter } from './tokens.js';
import { requestLog, successfulRead } from './middleware/requestLog.js';
import { rateLimit } from './middleware/rateLimit.js';
import { errorHandler, notFoundHandler, rejectUnstorableText, requireJsonBody } from './middleware/errors.js';
import { healthRouter } from './health.js';
import { apiDocsRouter } from './apiDocs.js';
import { dashboardRouter } from './dashboard.js';
import { infoRouter } from './info.js';
import { countRequests, metricsRoute } from './metrics.js';
import { instanceCollectionRouter, instanceRouter, loadInstance } from './instances.js';
import { sendRouter } from './send.js';
import { statusRouter } from './status.js';
import { chatLabelRoute, labelsRouter } from './labels.js';
import { channelsRouter } from './channels.js';
import { flowsRouter } from './flows.js';
import { chatMessagesRoute, historyRouter } from './messages.js';
import { mediaRouter, publicMediaRouter } from './media.js';
import { settingsRouter } from './settings.js';
import { chatsRouter } from './chats.js';
import { contactsRouter } from './contacts.js';
import { groupsRouter } from './groups.js';
import { presenceRouter } from './presence.js';
import { webhooksRouter } from './webhooks.js';
import { scheduledRouter } from './scheduled.js';
import { bulkRouter } from './bulk.js';
import { optOutsRouter } from './optouts.js';
import { chatbotRouter } from './chatbot.js';
import { pairingCodeRouter } from './pairing.js';
import { callsRouter } from './calls.js';
import { taskQueues } from '../workflows/names.js';
import type { SendWaiter } from './sendWaiter.js';
import type { MediaStore } from '../media/store.js';
import type { EventHub } from './events/hub.js';
import { eventRoutes } from './events/routes.js';

export interface AppDeps {
  config: Config;
  db: Db;
  temporal: Client;
  logger: Logger;
  apiToken: string;
  media: MediaStore;
  waiter: SendWaiter;
  /** The live end of the event log (api/events/hub.ts). */
  events: EventHub;
}

/** The composition root of the HTTP API. */
export function createApp({ config, db, temporal, logger, apiToken, media, waiter, events }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  app.set('query parser', 'simple');

  // Reads that succeed (what is polled) at debug; changes and failures at info.
  app.use(requestLog(logger, { quiet: successfulRead }));

  app.use(countRequests);
  app.use('/health', healthRouter({ db, temporal }, { liveness: true }));
  app.use('/ready', healthRouter({ db, temporal }));
  app.get('/metrics', metricsRoute(config.METRICS_TOKEN ?? apiToken));

  // The API's docs hold no data: readable without a token.
  app.use('/api', apiDocsRouter(app));

  const sessions = new SessionControl(temporal, config);
  const deps = { db, sessions, heartbeatTimeoutSeconds: config.SESSION_HEARTBEAT_TIMEOUT_SECONDS, media };
  const api = express.Router();
  api.use(requireToken(apiToken, db));
  api.use(rateLimit(db, config.RATE_LIMIT_PER_MINUTE));
  api.use(requireJsonBody);
  api.use(express.json({ limit: '70mb' }));
  api.use(rejectUnstorableText);
  api.use('/tokens', adminOnly, tokensRouter({ db }));
  api.use('/info', infoRouter(config));
  const streams = {
    db,
    hub: events,
    heartbeatMs: config.EVENTS_HEARTBEAT_SECONDS * 1_000,
    maxBufferBytes: config.EVENTS_MAX_BUFFER_BYTES,
  };
  const allEvents = eventRoutes(streams, false);
  api.get('/events', adminOnly, allEvents.sse);
  api.get('/events/ws', adminOnly, allEvents.ws);
  api.use('/instance', instanceCollectionRouter(deps));
  const instance = express.Router({ mergeParams: true });
  instance.use('/messages', sendRouter({ config, db, temporal, media, waiter }), historyRouter({ db }));
  instance.get('/chats/messages', chatMessagesRoute({ db }));
  instance.use('/status', statusRouter({ config, db, temporal, media, waiter }));
  instance.use('/media', mediaRouter({ media, maxBytes: config.MAX_MEDIA_BYTES }));
  const queues = taskQueues(config.TASK_QUEUE);
  instance.use('/settings', settingsRouter({ db, temporal, queues, logger }));
  instance.use('/webhooks', webhooksRouter({ db, temporal, queues, logger }));
  instance.use('/scheduled', scheduledRouter({ config, db, temporal, queues, media, logger }));
  instance.use('/bulk', bulkRouter({ config, db, temporal, queues, media, logger }));
  instance.use('/optouts', optOutsRouter({ db, temporal, logger }));
  instance.use('/chatbot', chatbotRouter({ db }));
  const live = { db, temporal, taskQueue: queues.general };
  instance.post('/chats/labels', chatLabelRoute(live));
  instance.use('/chats', chatsRouter(live));
  instance.use('/labels', labelsRouter(live));
  instance.use('/channels', channelsRouter(live));
  instance.use('/flows', flowsRouter({ db, temporal, taskQueue: queues.general, logger }));
  instance.use('/contacts', contactsRouter(live));
  instance.use('/groups', groupsRouter(live));
  instance.use('/presence', presenceRouter(live));
  instance.use('/pairing-code', pairingCodeRouter(live));
  instance.use('/calls', callsRouter({ db }));
  const instanceEvents = eventRoutes(streams, true);
  instance.get('/events', instanceEvents.sse);
  instance.get('/events/ws', instanceEvents.ws);
  instance.use('/', instanceRouter(deps));
  api.use('/instance/:instanceId', instanceAccess, loadInstance(db), instance);
  app.use('/api', api);
  app.use('/media', publicMediaRouter({ media }));
  // The dashboard: a client of the API above, served as files.
  app.use(dashboardRouter());

  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
