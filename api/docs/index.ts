/** Every route's docs (api/openapi.ts makes the document from these and the app's routes). */
import type { RouteDocs } from '../openapi.js';
import { automationDocs } from './automation.js';
import { instanceDocs } from './instances.js';
import { groupDocs } from './groups.js';
import { messagingDocs } from './messaging.js';
import { historyDocs } from './history.js';
import { statusDocs } from './status.js';
import { labelDocs } from './labels.js';
import { channelDocs } from './channels.js';
import { flowDocs } from './flows.js';
import { operationDocs } from './operations.js';
import { eventDocs } from './events.js';

export const routeDocs: RouteDocs = {
  ...operationDocs,
  ...instanceDocs,
  ...messagingDocs,
  ...historyDocs,
  ...statusDocs,
  ...groupDocs,
  ...labelDocs,
  ...channelDocs,
  ...flowDocs,
  ...automationDocs,
  ...eventDocs,
};
