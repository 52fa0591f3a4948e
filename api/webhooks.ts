/**
 * `.../webhooks`: the delivery log of an instance's webhook events, sending
 * one again, and a test event.
 */
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { getSettings } from '../db/settings.js';
import { getDelivery, listDeliveries, recordTestEvent, requeueDelivery, type DeliveryRow } from '../db/webhooks.js';
import { Conflict, NotFound } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { TaskQueues } from '../workflows/names.js';
import { wakeWebhooks } from '../temporal/starts.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';

export interface WebhookRouteDeps {
  db: Db;
  temporal: Client;
  queues: TaskQueues;
  logger: Logger;
}

const listQuery = z.object({
  status: z.enum(['pending', 'delivered', 'failed']).optional(),
  event: z.string().max(32).optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int().min(1).max(500).default(50),
  page: z.coerce.number({ error: 'must be a number' }).int().min(1).max(100_000).default(1),
});
const deliveryParams = z.object({ deliveryId: z.uuid({ error: 'must be a delivery id (a UUID)' }) });

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function summary(row: DeliveryRow) {
  return {
    id: row.id,
    seq: Number(row.seq),
    event: row.event,
    chatId: row.chat_id,
    status: row.status,
    attempts: row.attempts,
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    createdAt: iso(row.created_at),
    deliveredAt: iso(row.delivered_at),
    nextAttemptAt: iso(row.next_attempt_at),
  };
}

export function webhooksRouter({ db, temporal, queues, logger }: WebhookRouteDeps): Router {
  const router = Router({ mergeParams: true });
  const wakeNow = (instanceId: string) =>
    // Best effort: should Temporal be down, the workers' sweep starts delivery within a minute.
    wakeWebhooks(temporal, queues, instanceId, { now: true }).catch((err) =>
      logger.warn({ err, instanceId }, 'waking webhook delivery failed'),
    );

  router.get(
    '/deliveries',
    route({ query: listQuery }, async ({ query }, _req, res) => {
      const { rows, total } = await listDeliveries(db, instanceOf(res).id, query);
      return { deliveries: rows.map(summary), total };
    }),
  );

  router.get(
    '/deliveries/:deliveryId',
    route({ params: deliveryParams }, async ({ params }, _req, res) => {
      const row = await getDelivery(db, instanceOf(res).id, params.deliveryId);
      if (!row) throw new NotFound(`delivery ${params.deliveryId} not found`, 'DELIVERY_NOT_FOUND');
      return { ...summary(row), data: row.data, attempts: row.attempt_log ?? [], attemptCount: row.attempts };
    }),
  );

  router.post(
    '/deliveries/:deliveryId/retry',
    route({ params: deliveryParams }, async ({ params }, _req, res) => {
      const { id } = instanceOf(res);
      await requireWebhook(id);
      if (!(await requeueDelivery(db, id, params.deliveryId)))
        throw new NotFound(`delivery ${params.deliveryId} not found`, 'DELIVERY_NOT_FOUND');
      await wakeNow(id);
      return { success: true };
    }),
  );

  router.post(
    '/test',
    route({}, async (_input, _req, res) => {
      const { id } = instanceOf(res);
      await requireWebhook(id);
      const eventId = await recordTestEvent(db, id);
      await wakeNow(id);
      return { success: true, id: eventId };
    }),
  );

  async function requireWebhook(instanceId: string): Promise<void> {
    const settings = await getSettings(db, instanceId);
    if (!settings.webhookUrl)
      throw new Conflict(`instance ${instanceId} has no webhook URL (POST .../settings { "webhookUrl" })`, 'NO_WEBHOOK');
    if (!settings.webhookEnabled)
      throw new Conflict(
        `instance ${instanceId} has its webhook switched off (POST .../settings { "webhookEnabled": true })`,
        'WEBHOOK_OFF',
      );
  }

  return router;
}
