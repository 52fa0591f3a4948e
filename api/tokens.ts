import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { getInstance } from '../db/instances.js';
import { createToken, listTokens, revokeToken, SCOPES } from '../db/tokens.js';
import { NotFound } from '../lib/errors.js';
import { instanceIdSchema, route } from './route.js';

const createBody = z.object({
  instanceId: instanceIdSchema,
  name: z.string().min(1).max(100).optional(),
  scopes: z.array(z.enum(SCOPES)).min(1, 'scopes needs at least one of read, send, manage').optional(),
});
const idParams = z.object({ id: z.string().min(1).max(32) });

/** `/api/tokens` (admin token only): tokens that reach one instance. */
export function tokensRouter({ db }: { db: Db }): Router {
  const router = Router();
  router.post(
    '/',
    route({ body: createBody }, async ({ body }) => {
      if (!(await getInstance(db, body.instanceId))) throw new NotFound(`instance ${body.instanceId} not found`, 'INSTANCE_NOT_FOUND');
      const token = await createToken(db, { instanceId: body.instanceId, name: body.name, scopes: body.scopes ?? [...SCOPES] });
      // The token itself is in this answer only.
      return {
        id: token.id,
        token: token.secret,
        instanceId: token.instanceId,
        name: token.name,
        scopes: token.scopes,
        createdAt: token.createdAt,
      };
    }),
  );
  router.get(
    '/',
    route({}, async () => ({ tokens: await listTokens(db) })),
  );
  router.delete(
    '/:id',
    route({ params: idParams }, async ({ params }) => {
      if (!(await revokeToken(db, params.id))) throw new NotFound(`token ${params.id} not found`, 'TOKEN_NOT_FOUND');
      return { success: true };
    }),
  );
  return router;
}
