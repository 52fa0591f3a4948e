/** `.../optouts`: the instance's opt-out list (campaigns skip the numbers on it; their flow runs end). */
import { Router } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { cancelRuns } from '../db/flowRuns.js';
import { addOptOut, listOptOuts, removeOptOut } from '../db/optouts.js';
import { tellFlowRunsCancelled } from '../temporal/starts.js';
import { BadRequest, NotFound } from '../lib/errors.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { userJid } from './schemas.js';

const listQuery = z.object({
  limit: z.coerce.number({ error: 'must be a number' }).int().min(1).max(1_000).default(100),
  page: z.coerce.number({ error: 'must be a number' }).int().min(1).max(1_000_000).default(1),
});
const target = z.object({ chatId: userJid() });

export function optOutsRouter({ db, temporal, logger }: { db: Db; temporal: Client; logger: Logger }): Router {
  const router = Router({ mergeParams: true });

  router.get(
    '/',
    route({ query: listQuery }, async ({ query }, _req, res) => {
      const { rows, total } = await listOptOuts(db, instanceOf(res).id, query);
      return {
        optouts: rows.map((r) => ({ id: r.jid, source: r.source, keyword: r.keyword, createdAt: new Date(r.created_at).toISOString() })),
        total,
        page: query.page,
        limit: query.limit,
      };
    }),
  );

  router.post(
    '/',
    route({ body: target }, async ({ body }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const added = await addOptOut(db, instanceId, body.chatId, 'api');
      // The chat's running flow run ends: the row says so, and its workflow is told (or stops at its next step).
      const cancelled = await cancelRuns(db, instanceId, { chatId: body.chatId }, 'the contact opted out');
      await tellFlowRunsCancelled(temporal, instanceId, cancelled, (err, runId) =>
        logger.warn({ err, instanceId, runId }, 'telling a flow run it was cancelled failed'),
      );
      return { success: true, id: body.chatId, added };
    }),
  );

  // The number in the body, or as `?chatId=` (a DELETE body is often dropped by clients).
  const optional = z.object({ chatId: userJid().optional() });
  router.delete(
    '/',
    route({ query: optional, body: optional }, async ({ query, body }, _req, res) => {
      const chatId = body.chatId ?? query.chatId;
      if (!chatId) throw new BadRequest('chatId is required');
      if (!(await removeOptOut(db, instanceOf(res).id, chatId)))
        throw new NotFound(`${chatId} is not on the opt-out list`, 'NOT_OPTED_OUT');
      return { success: true };
    }),
  );

  return router;
}
