/** Chats, contacts and groups (`.../chats`, `.../contacts`, `.../groups`). */
import { Router } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/knex.js';
import type { InstanceRow } from '../db/instances.js';
import { upsertGroups } from '../db/directory.js';
import { NotFound } from '../lib/errors.js';
import { callSession } from '../lib/sessionCalls.js';
import { TtlCache } from '../lib/ttlCache.js';
import { toJid, isGroupJid } from '../lib/recipients.js';
import type { GroupInfo } from '../whatsapp/session.js';
import { route } from './route.js';

const jidField = (name: string) =>
  z
    .string({ error: `${name} is required` })
    .transform((v, ctx) => toJid(v) ?? (ctx.addIssue({ code: 'custom', message: 'must be a phone number, a user JID or a group JID' }), z.NEVER));
const userJid = (name: string) => jidField(name).refine((jid) => !isGroupJid(jid), `${name} must be a user, not a group`);
const groupJid = jidField('groupId').refine(isGroupJid, 'groupId must be a group JID (…@g.us)');

export interface DirectoryDeps {
  db: Db;
  temporal: Client;
  taskQueue: string;
}

export function directoryRouter({ db, temporal, taskQueue }: DirectoryDeps): Router {
  const router = Router({ mergeParams: true });
  const instanceOf = (res: { locals: Record<string, unknown> }) => (res.locals.instance as InstanceRow).id;
  const existsCache = new TtlCache<{ exists: boolean; jid: string }>(60_000);
  const pictureCache = new TtlCache<string | null>(5 * 60_000);
  const groupCache = new TtlCache<GroupInfo>(30_000);

  // ---- chats
  router.get(
    '/chats',
    route({}, async (_input, _req, res) => {
      const rows = await db('chats as c')
        .leftJoin('contacts as p', function () {
          this.on('p.instance_id', 'c.instance_id').andOn('p.id', 'c.id');
        })
        .where('c.instance_id', instanceOf(res))
        .orderByRaw('c.last_message desc nulls last')
        .select('c.id', 'c.name', 'c.unread_count', 'c.last_message', 'c.archived', 'p.name as contact_name', 'p.notify');
      return rows.map((r) => ({
        id: r.id,
        name: r.name ?? r.contact_name ?? r.notify ?? null,
        unreadCount: r.unread_count,
        lastMessage: r.last_message === null ? null : Number(r.last_message),
        archived: r.archived,
      }));
    }),
  );
  router.get(
    '/chats/ids',
    route({}, async (_input, _req, res) => (await db('chats').where({ instance_id: instanceOf(res) }).orderByRaw('last_message desc nulls last').pluck('id')) as string[]),
  );
  router.post(
    '/chats/read',
    route({ body: z.object({ chatId: jidField('chatId') }) }, async ({ body }, _req, res) => {
      const instanceId = instanceOf(res);
      const unread = await db('messages').where({ instance_id: instanceId, chat_id: body.chatId, from_me: false }).orderBy('seq', 'desc').limit(50).select('id', 'from_jid');
      if (unread.length) await callSession(temporal, taskQueue, instanceId, 'markRead', body.chatId, unread.map((m) => ({ id: m.id, ...(isGroupJid(body.chatId) ? { participant: m.from_jid } : {}) })));
      await db('chats').where({ instance_id: instanceId, id: body.chatId }).update({ unread_count: 0 });
      return { success: true };
    }),
  );
  for (const action of ['archive', 'unarchive', 'delete'] as const) {
    router.post(
      `/chats/${action}`,
      route({ body: z.object({ chatId: jidField('chatId') }) }, async ({ body }, _req, res) => {
        const instanceId = instanceOf(res);
        const last = await db('messages').where({ instance_id: instanceId, chat_id: body.chatId }).orderBy('seq', 'desc').first('id', 'from_me', 'timestamp');
        await callSession(temporal, taskQueue, instanceId, 'modifyChat', body.chatId, action, last ? { id: last.id, fromMe: last.from_me, timestamp: Number(last.timestamp) } : undefined);
        if (action === 'delete') {
          await db.transaction(async (trx) => {
            await trx('messages').where({ instance_id: instanceId, chat_id: body.chatId }).delete();
            await trx('chats').where({ instance_id: instanceId, id: body.chatId }).delete();
          });
        } else {
          await db('chats').insert({ instance_id: instanceId, id: body.chatId, archived: action === 'archive' }).onConflict(['instance_id', 'id']).merge({ archived: action === 'archive' });
        }
        return { success: true };
      }),
    );
  }

  // ---- contacts
  router.get(
    '/contacts',
    route({}, async (_input, _req, res) =>
      (await db('contacts').where({ instance_id: instanceOf(res) }).orderBy('id').select('id', 'name', 'notify')).map((c) => ({ id: c.id, name: c.name ?? c.notify ?? null, notify: c.notify ?? null })),
    ),
  );
  router.get('/contacts/ids', route({}, async (_input, _req, res) => (await db('contacts').where({ instance_id: instanceOf(res) }).orderBy('id').pluck('id')) as string[]));
  router.get(
    '/contacts/contact',
    route({ query: z.object({ chatId: userJid('chatId') }) }, async ({ query }, _req, res) => {
      const contact = await db('contacts').where({ instance_id: instanceOf(res), id: query.chatId }).first('id', 'name', 'notify');
      if (!contact) throw new NotFound(`no contact ${query.chatId}`, 'CONTACT_NOT_FOUND');
      return { id: contact.id, name: contact.name ?? contact.notify ?? null, notify: contact.notify ?? null };
    }),
  );
  router.get(
    '/contacts/check',
    route({ query: z.object({ chatId: userJid('chatId') }) }, async ({ query }, _req, res) => {
      const instanceId = instanceOf(res);
      return existsCache.get(`${instanceId}|${query.chatId}`, () => callSession(temporal, taskQueue, instanceId, 'exists', query.chatId));
    }),
  );
  router.get(
    '/contacts/image',
    route({ query: z.object({ chatId: jidField('chatId') }) }, async ({ query }, _req, res) => {
      const instanceId = instanceOf(res);
      return { url: await pictureCache.get(`${instanceId}|${query.chatId}`, () => callSession(temporal, taskQueue, instanceId, 'profilePicture', query.chatId)) };
    }),
  );
  for (const action of ['block', 'unblock'] as const) {
    router.post(
      `/contacts/${action}`,
      route({ body: z.object({ chatId: userJid('chatId') }) }, async ({ body }, _req, res) => {
        await callSession(temporal, taskQueue, instanceOf(res), 'setBlocked', body.chatId, action === 'block');
        return { success: true };
      }),
    );
  }

  // ---- groups
  router.get(
    '/groups',
    route({}, async (_input, _req, res) =>
      (await db('groups').where({ instance_id: instanceOf(res) }).orderBy('name')).map((g) => ({
        id: g.id,
        name: g.name,
        participants: (g.participants as unknown[]).length,
        creation: g.creation === null ? null : Number(g.creation),
        desc: g.description ?? '',
      })),
    ),
  );
  router.get('/groups/ids', route({}, async (_input, _req, res) => (await db('groups').where({ instance_id: instanceOf(res) }).orderBy('name').pluck('id')) as string[]));
  router.get(
    '/groups/group',
    route({ query: z.object({ groupId: groupJid }) }, async ({ query }, _req, res) => {
      const instanceId = instanceOf(res);
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
