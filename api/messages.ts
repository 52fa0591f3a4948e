/** Message history: `GET .../messages`, `.../messages/statistics`, `.../messages/poll`, `.../messages/clear`, `GET .../chats/messages`. */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { clearMessages } from '../db/instances.js';
import { getMessage, type MessageRow } from '../db/messages.js';
import { EXACT_TOTAL_UP_TO, historyQueries, statisticsQuery, type HistoryFilter } from '../db/history.js';
import { BadRequest, NotFound } from '../lib/errors.js';
import { getPoll, pollResults } from '../db/polls.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { jid } from './schemas.js';

const STATUSES = ['sent', 'received', 'pending', 'failed', 'delivered', 'read', 'played'] as const;
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
  chatId: jid().optional(),
});

/** A stored message as the API shows it (field names as in webhooks). */
export function presentMessage(row: MessageRow) {
  return {
    id: row.id,
    chatId: row.chat_id,
    from: row.from_jid,
    ...(row.from_lid ? { fromLid: row.from_lid } : {}),
    to: row.to_jid,
    fromMe: row.from_me,
    type: row.type,
    body: row.body ?? '',
    status: row.status,
    timestamp: Number(row.timestamp),
    ...(row.error ? { error: row.error } : {}),
    ...(row.media ? { mimetype: row.media.mimetype, media: row.media.url } : {}),
    ...(row.source ? { source: row.source } : {}),
    ...(row.rule_id !== null && row.rule_id !== undefined ? { ruleId: row.rule_id, replyTo: row.reply_to } : {}),
    ...(row.edited_at ? { editedAt: Number(row.edited_at) } : {}),
    ...(row.edits?.length ? { edits: row.edits } : {}),
    ...(row.revoked_at ? { revoked: true, revokedAt: Number(row.revoked_at), revokedBy: row.revoked_by } : {}),
  };
}

async function page(db: Db, instanceId: string, filter: HistoryFilter, limit: number, pageNumber: number) {
  const queries = historyQueries(db, instanceId, filter, limit, pageNumber);
  const [rows, [{ count }]] = await Promise.all([queries.rows, queries.count]);
  const offset = (pageNumber - 1) * limit;
  const more = rows.length > limit;
  const messages = rows.slice(0, limit).map(presentMessage);
  let total = Number(count);
  if (total > EXACT_TOTAL_UP_TO && !more && messages.length > 0) {
    total = offset + messages.length; // the last page knows the exact total
  } else if (total > EXACT_TOTAL_UP_TO) {
    const plan = (await queries.estimate).rows[0]!['QUERY PLAN'][0];
    const estimate = Math.max(total, Math.round(plan.Plan['Plan Rows']));
    // Never fewer than a full page followed by more proves, never more than an empty page past the end allows.
    total = more ? Math.max(estimate, offset + limit + 1) : Math.min(estimate, offset);
  }
  return { messages, total, page: pageNumber, limit };
}

export function historyRouter({ db }: { db: Db }): Router {
  const router = Router({ mergeParams: true });

  router.get(
    '/',
    route({ query: historyQuery }, async ({ query }, _req, res) => page(db, instanceOf(res).id, query, query.limit, query.page)),
  );

  router.get(
    '/poll',
    route(
      { query: z.object({ msgId: z.string().min(1, 'msgId must not be empty').max(128).optional() }) },
      async ({ query }, _req, res) => {
        if (!query.msgId) throw new BadRequest('msgId is required');
        const instanceId = instanceOf(res).id;
        const poll = await getPoll(db, instanceId, query.msgId);
        if (poll) return pollResults(db, instanceId, poll);
        const message = await getMessage(db, instanceId, query.msgId);
        if (!message) throw new NotFound(`msgId: no message ${query.msgId} in this instance`, 'MESSAGE_NOT_FOUND');
        throw new BadRequest(`msgId: message ${query.msgId} is a ${message.type} message, not a poll`);
      },
    ),
  );

  router.get(
    '/statistics',
    route({}, async (_input, _req, res) => {
      const rows = await statisticsQuery(db, instanceOf(res).id);
      const byStatus = new Map(rows.map(({ status, count }) => [status, Number(count)]));
      const count = (...statuses: string[]) => statuses.reduce((sum, status) => sum + (byStatus.get(status) ?? 0), 0);
      // Counts follow the lifecycle: a read message was also sent and delivered (the contract's
      // example has delivered <= sent, and its per-key numbers add up to more than the total).
      return {
        total: count(...byStatus.keys()),
        sent: count('sent', 'delivered', 'read', 'played'),
        received: count('received'),
        pending: count('pending'),
        delivered: count('delivered', 'read', 'played'),
        read: count('read', 'played'),
        played: count('played'),
        failed: count('failed'),
      };
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
  return route({ query: z.object({ chatId: jid().optional(), limit: intParam('limit', 50, 1_000) }) }, async ({ query }, _req, res) => {
    if (!query.chatId) throw new BadRequest('chatId is required');
    return page(db, instanceOf(res).id, { chatId: query.chatId }, query.limit, 1);
  });
}
