import { Client, Connection } from '@temporalio/client';
import { SearchAttributeType } from '@temporalio/common';
import type { Logger } from 'pino';
import { SEARCH_ATTRIBUTES } from '../workflows/names.js';

/**
 * One Temporal client per process. The connection is lazy, so a process
 * starts (and answers 503) while Temporal is down, and recovers by itself.
 */
export function createTemporalClient(address: string, namespace: string): Client {
  const connection = Connection.lazy({ address, connectTimeout: 5_000 });
  return new Client({ connection, namespace });
}

/** How long a start, signal or query may wait for Temporal before it fails (a dead Temporal is an error, not a hang). */
export const DEADLINE_MS = 5_000;

/** Runs `call` on `client` within a deadline (DEADLINE_MS unless given). */
export const withinDeadline = <T>(client: Client, call: () => Promise<T>, ms = DEADLINE_MS): Promise<T> =>
  client.connection.withDeadline(Date.now() + ms, call);

const PROTO_TYPES: Record<string, number> = {
  [SearchAttributeType.KEYWORD]: 2,
  [SearchAttributeType.TEXT]: 1,
  [SearchAttributeType.INT]: 3,
  [SearchAttributeType.DOUBLE]: 4,
  [SearchAttributeType.BOOL]: 5,
  [SearchAttributeType.DATETIME]: 6,
  [SearchAttributeType.KEYWORD_LIST]: 7,
};

/** Registers the gateway's search attributes on the namespace (no-op when present). */
export async function ensureSearchAttributes(client: Client, logger: Logger): Promise<void> {
  const { operatorService } = client.connection;
  const existing = await operatorService.listSearchAttributes({ namespace: client.options.namespace });
  const missing = SEARCH_ATTRIBUTES.filter((key) => !existing.customAttributes?.[key.name]);
  if (missing.length === 0) return;
  try {
    await operatorService.addSearchAttributes({
      namespace: client.options.namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, PROTO_TYPES[key.type]!])),
    });
    logger.info({ added: missing.map((k) => k.name) }, 'registered Temporal search attributes');
  } catch (err) {
    // Another process registering the same attributes at the same moment is fine.
    if (!/already exists/i.test(String((err as Error).message))) throw err;
  }
}
