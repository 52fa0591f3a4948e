/** Incoming calls (`.../calls`): the most recent first, with how each ended. */
import { Router } from 'express';
import { z } from 'zod';
import { listCalls } from '../db/calls.js';
import type { Db } from '../db/knex.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';

const callsQuery = z.object({
  limit: z.coerce.number({ error: 'must be a number' }).int().min(1).max(500).default(50),
  before: z.coerce
    .number({ error: 'must be unix seconds' })
    .int()
    .min(0)
    .optional()
    .meta({ description: 'Only calls offered before this time (unix seconds): the `timestamp` of the last call of a page' }),
});

export function callsRouter({ db }: { db: Db }): Router {
  const router = Router({ mergeParams: true });
  router.get(
    '/',
    route({ query: callsQuery }, async ({ query }, _req, res) => ({
      calls: await listCalls(db, instanceOf(res).id, { limit: query.limit, before: query.before }),
    })),
  );
  return router;
}
