/** Contacts (`.../contacts`): the address book from WhatsApp; checks, pictures and blocking asked live. */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { contactIds, findContact, listContacts } from '../db/contacts.js';
import { NotFound } from '../lib/errors.js';
import { callSession, type SessionCallDeps } from '../temporal/sessionCalls.js';
import { TtlCache } from '../lib/ttlCache.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { jid, userJid } from './schemas.js';

export function contactsRouter({ db, temporal, taskQueue }: { db: Db } & SessionCallDeps): Router {
  const router = Router({ mergeParams: true });
  const existsCache = new TtlCache<{ exists: boolean; jid: string }>(60_000);
  const pictureCache = new TtlCache<string | null>(5 * 60_000);

  router.get(
    '/',
    route({}, async (_input, _req, res) =>
      (await listContacts(db, instanceOf(res).id)).map((c) => ({ id: c.id, name: c.name ?? c.notify ?? null, notify: c.notify ?? null })),
    ),
  );
  router.get(
    '/ids',
    route({}, async (_input, _req, res) => contactIds(db, instanceOf(res).id)),
  );
  router.get(
    '/contact',
    route({ query: z.object({ chatId: userJid() }) }, async ({ query }, _req, res) => {
      const contact = await findContact(db, instanceOf(res).id, query.chatId);
      if (!contact) throw new NotFound(`no contact ${query.chatId}`, 'CONTACT_NOT_FOUND');
      return { id: contact.id, name: contact.name ?? contact.notify ?? null, notify: contact.notify ?? null };
    }),
  );
  router.get(
    '/check',
    route({ query: z.object({ chatId: userJid() }) }, async ({ query }, _req, res) => {
      const instanceId = instanceOf(res).id;
      return existsCache.get(`${instanceId}|${query.chatId}`, () => callSession(temporal, taskQueue, instanceId, 'exists', query.chatId));
    }),
  );
  router.get(
    '/image',
    route({ query: z.object({ chatId: jid() }) }, async ({ query }, _req, res) => {
      const instanceId = instanceOf(res).id;
      return {
        url: await pictureCache.get(`${instanceId}|${query.chatId}`, () =>
          callSession(temporal, taskQueue, instanceId, 'profilePicture', query.chatId),
        ),
      };
    }),
  );
  for (const action of ['block', 'unblock'] as const) {
    router.post(
      `/${action}`,
      route({ body: z.object({ chatId: userJid() }) }, async ({ body }, _req, res) => {
        await callSession(temporal, taskQueue, instanceOf(res).id, 'setBlocked', body.chatId, action === 'block');
        return { success: true };
      }),
    );
  }

  return router;
}
