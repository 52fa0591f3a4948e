import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';

export type GatewayEvent =
  | 'message_received'
  | 'message_ack'
  | 'connection_status'
  | 'webhook_test'
  | 'scheduled_sent'
  | 'scheduled_failed'
  | 'bulk_completed'
  | 'account_restriction'
  | 'call'
  | 'group_participants'
  | 'group_update'
  | 'chatbot_paused';

/**
 * Whether the instance `instanceId` (an SQL expression) has a webhook to
 * deliver events to: a URL, switched on. Events are recorded only then; an
 * instance without one keeps no event nobody would ever receive.
 */
export const webhookOn = (instanceId: string) =>
  `exists (select 1 from instance_settings ws where ws.instance_id = ${instanceId} and ws.webhook_enabled and ws.webhook_url is not null)`;

/**
 * Appends an event to the webhook outbox when the instance has a webhook.
 * Call it inside the transaction that makes the change, so an event exists
 * exactly when its change does. Returns the event's id, or null when none
 * was recorded.
 */
export async function recordEvent(
  trx: Knex | Knex.Transaction,
  instanceId: string,
  event: GatewayEvent,
  data: Record<string, unknown>,
): Promise<string | null> {
  const id = randomUUID();
  const { rowCount } = await trx.raw(
    `insert into webhook_events (id, instance_id, event, data, timestamp) select ?, ?, ?, ?, ? where ${webhookOn('?')}`,
    [id, instanceId, event, JSON.stringify(data), Date.now(), instanceId],
  );
  return rowCount > 0 ? id : null;
}
