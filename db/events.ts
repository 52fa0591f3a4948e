import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import type { GatewayEvent } from '../domain/events.js';

export { EVENT_NAMES, type GatewayEvent } from '../domain/events.js';

/**
 * Whether the instance `instanceId` (an SQL expression) has a webhook to
 * deliver events to: a URL, switched on.
 */
export const webhookOn = (instanceId: string) =>
  `exists (select 1 from instance_settings ws where ws.instance_id = ${instanceId} and ws.webhook_enabled and ws.webhook_url is not null)`;

/**
 * SQL: the delivery state a new event of `instanceId` starts in: `pending`
 * when a webhook waits for it, `none` otherwise. Every event is recorded
 * either way: streams and brokers read the log (db/eventLog.ts) until the
 * retention prunes it.
 */
export const initialDelivery = (instanceId: string) => `case when ${webhookOn(instanceId)} then 'pending' else 'none' end`;

/**
 * Appends an event to the event log (and the webhook's outbox when the
 * instance has a webhook). Call it inside the transaction that makes the
 * change, so an event exists exactly when its change does. Returns the
 * event's id.
 */
export async function recordEvent(
  trx: Knex | Knex.Transaction,
  instanceId: string,
  event: GatewayEvent,
  data: Record<string, unknown>,
): Promise<string> {
  const id = randomUUID();
  await trx.raw(
    `insert into webhook_events (id, instance_id, event, data, timestamp, delivery_status) values (?, ?, ?, ?, ?, ${initialDelivery('?')})`,
    [id, instanceId, event, JSON.stringify(data), Date.now(), instanceId],
  );
  return id;
}
