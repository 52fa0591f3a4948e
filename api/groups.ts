/** Groups (`.../groups`): the groups the account is in; one group's details asked live. */
import { Router } from 'express';
import type { Db } from '../db/knex.js';
import { z } from 'zod';
import { upsertGroups } from '../db/directory.js';
import { callSession, type SessionCallDeps } from '../lib/sessionCalls.js';
import { TtlCache } from '../lib/ttlCache.js';
import type { GroupInfo } from '../whatsapp/session.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { groupJid } from './schemas.js';

export function groupsRouter({ db, temporal, taskQueue }: { db: Db } & SessionCallDeps): Router {
  const router = Router({ mergeParams: true });
  const groupCache = new TtlCache<GroupInfo>(30_000);

  router.get(
    '/',
    route({}, async (_input, _req, res) =>
      (
        await db('groups')
          .where({ instance_id: instanceOf(res).id })
          .orderBy('name')
      ).map((g) => ({
        id: g.id,
        name: g.name,
        participants: (g.participants as unknown[]).length,
        creation: g.creation === null ? null : Number(g.creation),
        desc: g.description ?? '',
      })),
    ),
  );
  router.get(
    '/ids',
    route(
      {},
      async (_input, _req, res) =>
        (await db('groups')
          .where({ instance_id: instanceOf(res).id })
          .orderBy('name')
          .pluck('id')) as string[],
    ),
  );
  router.get(
    '/group',
    route({ query: z.object({ groupId: groupJid() }) }, async ({ query }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const group = await groupCache.get(`${instanceId}|${query.groupId}`, async () => {
        const fresh = await callSession(temporal, taskQueue, instanceId, 'groupMetadata', query.groupId);
        await upsertGroups(db, instanceId, [fresh]);
        return fresh;
      });
      return { id: group.id, name: group.name, description: group.description ?? '', participants: group.participants, owner: group.owner };
    }),
  );
  return router;
}
