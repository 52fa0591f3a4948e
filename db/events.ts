import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export type GatewayEvent = 'message_received' | 'message_ack' | 'connection_status';

/**
 * Appends an event to the webhook outbox. Call it inside the transaction that
 * makes the change, so an event exists exactly when its change does.
 */
export async function recordEvent(
  trx: Knex | Knex.Transaction,
  instanceId: string,
  event: GatewayEvent,
  data: Record<string, unknown>,
): Promise<string> {
  const id = randomUUID();
  await trx('webhook_events').insert({ id, instance_id: instanceId, event, data: JSON.stringify(data), timestamp: Date.now() });
  return id;
}
