/** Message history: `GET .../messages`, `.../messages/statistics`, `.../messages/clear`, `GET .../chats/messages`. */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { clearMessages, type InstanceRow } from '../db/instances.js';
import type { MessageRow } from '../db/messages.js';
import { toJid } from '../lib/recipients.js';
import { BadRequest } from '../lib/errors.js';
import { route } from './route.js';

const STATUSES = ['sent', 'received', 'pending', 'failed', 'delivered', 'read', 'played'] as const;
const chatIdSchema = z
  .string()
  .transform(
    (v, ctx) => toJid(v) ?? (ctx.addIssue({ code: 'custom', message: 'must be a phone number, a user JID or a group JID' }), z.NEVER),
  );
const intParam = (name: string, def: number, max: number) =>
  z.coerce
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .min(1, `${name} must be at least 1`)
    .max(max, `${name} must be at most ${max}`)
    .default(def);

const historyQuery = z.object({
  limit: intParam('limit', 100, 1_000),
  page: intParam('page', 1, 1_000_000),
  status: z.enum(STATUSES, { error: `status must be one of ${STATUSES.join(', ')}` }).optional(),
  chatId: chatIdSchema.optional(),
});

/** A stored message as the API shows it (field names as in webhooks). */
export function presentMessage(row: MessageRow) {
  return {
    id: row.id,
    chatId: row.chat_id,
    from: row.from_jid,
    to: row.to_jid,
    fromMe: row.from_me,
    type: row.type,
    body: row.body ?? '',
    status: row.status,
    timestamp: Number(row.timestamp),
    ...(row.error ? { error: row.error } : {}),
    ...(row.media ? { mimetype: row.media.mimetype, media: row.media.url } : {}),
  };
}

async function page(db: Db, instanceId: string, filter: { status?: string; chatId?: string }, limit: number, pageNumber: number) {
  const base = db<MessageRow>('messages').where({ instance_id: instanceId });
  if (filter.status) base.andWhere({ status: filter.status as MessageRow['status'] });
  if (filter.chatId) base.andWhere({ chat_id: filter.chatId });
  const [rows, [{ count }]] = await Promise.all([
    base
      .clone()
      .orderBy('seq', 'desc')
      .limit(limit)
      .offset((pageNumber - 1) * limit),
    base.clone().count<{ count: string }[]>('* as count'),
  ]);
  return { messages: rows.map(presentMessage), total: Number(count), page: pageNumber, limit };
}

export function historyRouter({ db }: { db: Db }): Router {
  const router = Router({ mergeParams: true });
  const instanceOf = (res: { locals: Record<string, unknown> }) => res.locals.instance as InstanceRow;

  router.get(
    '/',
    route({ query: historyQuery }, async ({ query }, _req, res) => page(db, instanceOf(res).id, query, query.limit, query.page)),
  );

  router.get(
    '/statistics',
    route({}, async (_input, _req, res) => {
      const rows = await db('messages')
        .where({ instance_id: instanceOf(res).id })
        .select('status')
        .count<{ status: string; count: string }[]>('* as count')
        .groupBy('status');
      const stats: Record<string, number> = { total: 0, sent: 0, received: 0, pending: 0, delivered: 0, read: 0, played: 0, failed: 0 };
      for (const { status, count } of rows) {
        stats[status] = Number(count);
        stats.total! += Number(count);
      }
      return stats;
    }),
  );

  const clear = route({}, async (_input, _req, res) => {
    await clearMessages(db, instanceOf(res).id);
    return { success: true };
  });
  router.post('/clear', clear);
  router.delete('/clear', clear);
  return router;
}

export function chatMessagesRoute({ db }: { db: Db }) {
  return route(
    { query: z.object({ chatId: chatIdSchema.optional(), limit: intParam('limit', 50, 1_000) }) },
    async ({ query }, _req, res) => {
      if (!query.chatId) throw new BadRequest('chatId is required');
      return page(db, (res.locals.instance as InstanceRow).id, { chatId: query.chatId }, query.limit, 1);
    },
  );
}
