/**
 * `.../scheduled`: messages sent at a given time, each by its own durable
 * timer (workflows/scheduled.ts), through the instance's outbox.
 */
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../config/index.js';
import type { Db } from '../db/knex.js';
import {
  cancelScheduled,
  createScheduled,
  deleteScheduled,
  getScheduled,
  listScheduled,
  rescheduleScheduled,
  type ChangeRefused,
  type ScheduledRow,
} from '../db/scheduled.js';
import { contentFor } from '../domain/content.js';
import { Conflict, NotFound } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { MediaStore } from '../media/store.js';
import { phoneOf } from '../domain/recipients.js';
import { signalScheduled, startScheduled } from '../temporal/starts.js';
import type { TaskQueues } from '../workflows/names.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { isoTime, jid, requireContent, templateFields } from './schemas.js';
import { messageTemplate } from './send.js';

export interface ScheduledDeps {
  config: Config;
  db: Db;
  temporal: Client;
  queues: TaskQueues;
  media: MediaStore;
  logger: Logger;
}

const YEAR_MS = 366 * 86_400_000;

/** In the future and at most a year ahead. */
const futureTime = isoTime()
  .refine((d) => d.getTime() > Date.now(), 'must be in the future')
  .refine((d) => d.getTime() <= Date.now() + YEAR_MS, 'must be at most a year ahead');

const createBody = z
  .object({ recipient: jid(), recipientName: z.string().max(256).optional(), scheduledAt: futureTime, ...templateFields })
  .superRefine(requireContent);

const changeBody = z
  .object({
    scheduledAt: futureTime.optional(),
    body: z.string().min(1, 'body must not be empty').max(65_536).optional(),
    recipientName: z.string().max(256).optional(),
  })
  .refine(
    (b) => b.scheduledAt || b.body !== undefined || b.recipientName !== undefined,
    'give scheduledAt, body or recipientName to change',
  );

const listQuery = z.object({
  status: z.enum(['pending', 'sent', 'failed', 'cancelled'], { error: 'must be pending, sent, failed or cancelled' }).optional(),
  limit: z.coerce.number({ error: 'must be a number' }).int().min(1).max(500).default(50),
  page: z.coerce.number({ error: 'must be a number' }).int().min(1).max(1_000_000).default(1),
});
const idParams = z.object({ id: z.coerce.number({ error: 'must be a scheduled message id' }).int().min(1).max(2_147_483_647) });

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

/** How a scheduled message is shown; `lateMs`: how long after its time it went out (or, if still due, has waited). */
function shown(row: ScheduledRow) {
  const due = new Date(row.scheduled_at).getTime();
  const late = row.sent_at ? new Date(row.sent_at).getTime() - due : row.status === 'pending' && due < Date.now() ? Date.now() - due : null;
  return {
    id: row.id,
    recipient: row.recipient,
    recipientName: row.recipient_name,
    messageType: row.message_type,
    body: row.body,
    mediaUrl: row.media_url,
    filename: row.filename,
    scheduledAt: iso(row.scheduled_at),
    status: row.status,
    messageId: row.message_id,
    error: row.error,
    sentAt: iso(row.sent_at),
    lateMs: late === null ? null : Math.max(0, late),
    createdAt: iso(row.created_at),
  };
}

function refused(reason: ChangeRefused, id: number): never {
  if (reason === 'unknown') throw new NotFound(`scheduled message ${id} not found`, 'SCHEDULED_NOT_FOUND');
  if (reason === 'sending') throw new Conflict(`scheduled message ${id} is being sent`, 'SCHEDULED_SENDING');
  throw new Conflict(`scheduled message ${id} is no longer pending`, 'SCHEDULED_NOT_PENDING');
}

export function scheduledRouter(deps: ScheduledDeps): Router {
  const { db, temporal, queues, logger } = deps;
  const router = Router({ mergeParams: true });

  router.post(
    '/',
    route({ body: createBody }, async ({ body }, _req, res) => {
      const { id: instanceId } = instanceOf(res);
      const template = await messageTemplate(deps, instanceId, {
        messageType: body.messageType,
        text: body.body,
        filename: body.filename,
        mediaUrl: body.mediaUrl,
      });
      const row = await createScheduled(db, {
        instanceId,
        recipient: body.recipient,
        recipientName: body.recipientName,
        messageType: body.messageType,
        body: body.body,
        mediaUrl: body.mediaUrl,
        filename: body.filename,
        scheduledAt: body.scheduledAt,
        content: contentFor(template, { name: body.recipientName, phone: phoneOf(body.recipient) }),
      });
      try {
        await startScheduled(temporal, queues.general, instanceId, row.id, body.scheduledAt);
      } catch (err) {
        // Without its timer it would never go out: not accepted.
        await deleteScheduled(db, instanceId, row.id);
        throw err;
      }
      return { success: true, id: row.id };
    }),
  );

  router.get(
    '/',
    route({ query: listQuery }, async ({ query }, _req, res) => {
      const { rows, total } = await listScheduled(db, instanceOf(res).id, query);
      return { scheduled: rows.map(shown), total, page: query.page, limit: query.limit };
    }),
  );

  router.get(
    '/:id',
    route({ params: idParams }, async ({ params }, _req, res) => {
      const row = await getScheduled(db, instanceOf(res).id, params.id);
      if (!row) refused('unknown', params.id);
      return shown(row);
    }),
  );

  router.delete(
    '/:id',
    route({ params: idParams }, async ({ params }, _req, res) => {
      const { id: instanceId } = instanceOf(res);
      const refusal = await cancelScheduled(db, instanceId, params.id);
      if (refusal) refused(refusal, params.id);
      // The row is the record: should the signal not arrive, the workflow finds it cancelled when it wakes.
      await signalScheduled(temporal, instanceId, params.id, { cancel: true }).catch((err) =>
        logger.warn({ err, instanceId, id: params.id }, 'telling a scheduled message it was cancelled failed'),
      );
      return { success: true };
    }),
  );

  router.post(
    '/:id',
    route({ params: idParams, body: changeBody }, async ({ params, body }, _req, res) => {
      const { id: instanceId } = instanceOf(res);
      const before = await getScheduled(db, instanceId, params.id);
      if (!before) refused('unknown', params.id);
      const name = body.recipientName ?? before.recipient_name;
      const content =
        body.body !== undefined || body.recipientName !== undefined
          ? contentFor(
              {
                messageType: before.message_type,
                body: body.body ?? before.body ?? undefined,
                filename: before.filename ?? undefined,
                media: 'media' in before.content ? before.content.media : undefined,
              },
              { name, phone: phoneOf(before.recipient) },
            )
          : undefined;
      const changed = await rescheduleScheduled(db, instanceId, params.id, { ...body, content });
      if (typeof changed === 'string') refused(changed, params.id);
      if (body.scheduledAt) {
        try {
          await signalScheduled(temporal, instanceId, params.id, { at: body.scheduledAt });
        } catch (err) {
          // Its timer would still ring at the old time: undo, so that what is stored is what happens.
          await rescheduleScheduled(db, instanceId, params.id, {
            scheduledAt: before.scheduled_at,
            body: before.body ?? undefined,
            recipientName: before.recipient_name ?? undefined,
            content: before.content,
          });
          throw err;
        }
      }
      return { success: true, scheduled: shown(changed) };
    }),
  );

  return router;
}
