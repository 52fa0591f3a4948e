/**
 * Groups (`.../groups`): the groups the account is in; one group's details
 * asked live; and their administration, done by WhatsApp live: create,
 * members (a result per participant), subject, description, invite links,
 * joining and leaving.
 */
import { Router, type RequestHandler } from 'express';
import type { Db } from '../db/knex.js';
import { z } from 'zod';
import { forgetGroup, groupIds, groupUpdatedAt, listGroups, upsertGroups } from '../db/directory.js';
import { BadRequest, Conflict, Forbidden, NotFound } from '../lib/errors.js';
import { callSession, WhatsAppRefused, type SessionCallDeps } from '../temporal/sessionCalls.js';
import { TtlCache } from '../lib/ttlCache.js';
import type { GroupInfo, GroupParticipantAction, ParticipantResult } from '../whatsapp/session.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { groupJid, userJid } from './schemas.js';

const ACTIONS = ['add', 'remove', 'promote', 'demote'] as const satisfies readonly GroupParticipantAction[];

const participantList = (max: number) =>
  z
    .array(userJid())
    .max(max)
    .transform((jids) => [...new Set(jids)]);
const subject = z.string().trim().min(1, 'subject must not be empty').max(100, 'subject is at most 100 characters');

/** `https://chat.whatsapp.com/<code>` or the code itself. */
const inviteCode = z
  .string()
  .trim()
  .transform(
    (value, ctx) =>
      value.match(/^(?:https?:\/\/)?chat\.whatsapp\.com\/(?:invite\/)?([A-Za-z0-9_-]{10,64})\/?(?:[?#].*)?$/)?.[1] ??
      value.match(/^[A-Za-z0-9_-]{10,64}$/)?.[0] ??
      (ctx.addIssue({ code: 'custom', message: 'must be an invite code or a https://chat.whatsapp.com/… link' }), z.NEVER),
  );

const inviteLink = (code: string) => ({ code, link: `https://chat.whatsapp.com/${code}` });

/** Why a participant was not added, removed, promoted or demoted, from WhatsApp's code. */
function participantError(action: GroupParticipantAction, status: number): string {
  switch (status) {
    case 400:
      return 'not a valid participant';
    case 401:
      return 'not authorized';
    case 403:
      if (action === 'add') return 'their privacy settings do not let the account add them (send them the invite link)';
      if (action === 'demote') return "the group's creator cannot be demoted";
      return 'not allowed';
    case 404:
      return action === 'add' ? 'not on WhatsApp' : 'not a member of the group';
    case 408:
      return 'left the group recently and cannot be added again yet';
    case 409:
      return action === 'add' ? 'already a member' : 'already done';
    default:
      return `WhatsApp refused it (code ${status})`;
  }
}

const describeResults = (action: GroupParticipantAction, results: ParticipantResult[]) =>
  results.map((r) => ({ id: r.id, status: r.status, ...(r.status === 200 ? {} : { error: participantError(action, r.status) }) }));

/** WhatsApp's refusal of a group request as a whole, said in the group's terms. */
async function onGroup<T>(groupId: string, request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    if (!(err instanceof WhatsAppRefused)) throw err;
    switch (err.whatsappStatus) {
      case 400:
        throw new BadRequest(`WhatsApp refused the request for group ${groupId} as invalid`);
      case 401:
        throw new Forbidden(`the account is not a member of group ${groupId}`, 'NOT_A_GROUP_MEMBER');
      case 403:
        throw new Forbidden(`the account is not an admin of group ${groupId}`, 'NOT_A_GROUP_ADMIN');
      case 404:
        throw new NotFound(`no group ${groupId}`, 'GROUP_NOT_FOUND');
      case 409:
        throw new Conflict(`group ${groupId} changed meanwhile; try again`, 'GROUP_CHANGED');
      default:
        throw err;
    }
  }
}

const present = (group: GroupInfo) => ({
  id: group.id,
  name: group.name,
  description: group.description ?? '',
  participants: group.participants,
  owner: group.owner,
  announce: group.announce ?? false,
  restrict: group.restrict ?? false,
});

/** What the groups' routes share: the session calls, and the groups asked live, cached a moment. */
interface GroupsContext extends SessionCallDeps {
  db: Db;
  // Each entry with the stored row's time when it was made: a change WhatsApp reported since (stored by the worker) makes it stale.
  groupCache: TtlCache<{ group: GroupInfo; stamp: number | null }>;
  remember(instanceId: string, group: GroupInfo): Promise<void>;
  refresh(instanceId: string, groupId: string): Promise<GroupInfo | null>;
}

export function groupsRouter({ db, temporal, taskQueue }: { db: Db } & SessionCallDeps): Router {
  const router = Router({ mergeParams: true });
  const groupCache: GroupsContext['groupCache'] = new TtlCache(30_000);
  const remember = async (instanceId: string, group: GroupInfo) =>
    groupCache.set(`${instanceId}|${group.id}`, { group, stamp: await groupUpdatedAt(db, instanceId, group.id) });

  /**
   * After a change made here, the group as WhatsApp now has it, stored (the
   * notification WhatsApp sends the account updates it too, a moment later);
   * a group the account is no longer in leaves the list.
   */
  const refresh = async (instanceId: string, groupId: string): Promise<GroupInfo | null> => {
    const key = `${instanceId}|${groupId}`;
    try {
      const fresh = await callSession(temporal, taskQueue, instanceId, 'groupMetadata', groupId);
      await upsertGroups(db, instanceId, [fresh]);
      await remember(instanceId, fresh);
      return fresh;
    } catch (err) {
      groupCache.delete(key);
      if (err instanceof WhatsAppRefused && [401, 403, 404].includes(err.whatsappStatus)) {
        await forgetGroup(db, instanceId, groupId);
        return null;
      }
      throw err;
    }
  };

  const context: GroupsContext = { db, temporal, taskQueue, groupCache, remember, refresh };
  readRoutes(router, context);
  administrationRoutes(router, context);
  inviteRoutes(router, context);
  return router;
}

/** The groups the account is in, as stored, and one group asked live. */
function readRoutes(router: Router, { db, temporal, taskQueue, groupCache }: GroupsContext): void {
  router.get(
    '/',
    route({}, async (_input, _req, res) =>
      (await listGroups(db, instanceOf(res).id)).map((g) => ({
        id: g.id,
        name: g.name,
        participants: g.participants.length,
        creation: g.creation === null ? null : Number(g.creation),
        desc: g.description ?? '',
      })),
    ),
  );
  router.get(
    '/ids',
    route({}, async (_input, _req, res) => groupIds(db, instanceOf(res).id)),
  );
  router.get(
    '/group',
    route({ query: z.object({ groupId: groupJid() }) }, async ({ query }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const key = `${instanceId}|${query.groupId}`;
      const load = async () => {
        const fresh = await onGroup(query.groupId, () => callSession(temporal, taskQueue, instanceId, 'groupMetadata', query.groupId));
        await upsertGroups(db, instanceId, [fresh]);
        return { group: fresh, stamp: await groupUpdatedAt(db, instanceId, query.groupId) };
      };
      let cached = await groupCache.get(key, load);
      if (cached.stamp !== (await groupUpdatedAt(db, instanceId, query.groupId))) {
        groupCache.delete(key);
        cached = await groupCache.get(key, load);
      }
      return present(cached.group);
    }),
  );
}

/** Creating a group, its members, and its subject, description and settings. */
function administrationRoutes(router: Router, { db, temporal, taskQueue, remember, refresh }: GroupsContext): void {
  router.post(
    '/',
    route({ body: z.object({ subject, participants: participantList(1023).default([]) }) }, async ({ body }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const created = await callSession(temporal, taskQueue, instanceId, 'createGroup', body.subject, body.participants);
      await upsertGroups(db, instanceId, [created.group]);
      await remember(instanceId, created.group);
      return { success: true, group: present(created.group), participants: describeResults('add', created.participants) };
    }),
  );
  router.post(
    '/participants',
    route(
      {
        body: z.object({
          groupId: groupJid(),
          action: z.enum(ACTIONS, { error: 'must be add, remove, promote or demote' }),
          participants: participantList(1023).refine((p) => p.length > 0, 'participants must not be empty'),
        }),
      },
      async ({ body }, _req, res) => {
        const instanceId = instanceOf(res).id;
        const results = await onGroup(body.groupId, () =>
          callSession(temporal, taskQueue, instanceId, 'updateGroupParticipants', body.groupId, body.action, body.participants),
        );
        if (results.some((r) => r.status === 200)) await refresh(instanceId, body.groupId);
        return { groupId: body.groupId, action: body.action, participants: describeResults(body.action, results) };
      },
    ),
  );

  const setSubject = route({ body: z.object({ groupId: groupJid(), subject }) }, async ({ body }, _req, res) => {
    const instanceId = instanceOf(res).id;
    await onGroup(body.groupId, () => callSession(temporal, taskQueue, instanceId, 'setGroupSubject', body.groupId, body.subject));
    await refresh(instanceId, body.groupId);
    return { success: true };
  });
  const setDescription = route(
    {
      body: z.object({
        groupId: groupJid(),
        description: z.string().max(2048, 'description is at most 2048 characters').meta({ description: 'An empty text removes it' }),
      }),
    },
    async ({ body }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const description = body.description.trim() ? body.description : null;
      await onGroup(body.groupId, () => callSession(temporal, taskQueue, instanceId, 'setGroupDescription', body.groupId, description));
      await refresh(instanceId, body.groupId);
      return { success: true };
    },
  );
  const setSettings = route(
    {
      body: z
        .object({
          groupId: groupJid(),
          announce: z.boolean({ error: 'must be true or false' }).optional().meta({ description: 'Only admins may send messages' }),
          restrict: z
            .boolean({ error: 'must be true or false' })
            .optional()
            .meta({ description: 'Only admins may change the subject, the description and the picture' }),
        })
        .refine((b) => b.announce !== undefined || b.restrict !== undefined, {
          message: 'announce or restrict is required',
          path: ['announce'],
        }),
    },
    async ({ body }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const { announce, restrict } = body;
      await onGroup(body.groupId, () =>
        callSession(temporal, taskQueue, instanceId, 'setGroupSettings', body.groupId, { announce, restrict }),
      );
      const group = await refresh(instanceId, body.groupId);
      return { success: true, announce: group?.announce ?? false, restrict: group?.restrict ?? false };
    },
  );
  // Changes of a group's settings: PUT, and POST like the other actions.
  for (const [path, handler] of [
    ['/subject', setSubject],
    ['/description', setDescription],
    ['/settings', setSettings],
  ] as Array<[string, RequestHandler]>) {
    router.put(path, handler);
    router.post(path, handler);
  }
}

/** Invite links, joining by one, and leaving. */
function inviteRoutes(router: Router, { db, temporal, taskQueue, groupCache, refresh }: GroupsContext): void {
  router.get(
    '/invite',
    route({ query: z.object({ groupId: groupJid() }) }, async ({ query }, _req, res) =>
      inviteLink(
        await onGroup(query.groupId, () => callSession(temporal, taskQueue, instanceOf(res).id, 'groupInviteCode', query.groupId)),
      ),
    ),
  );
  router.post(
    '/invite/revoke',
    route({ body: z.object({ groupId: groupJid() }) }, async ({ body }, _req, res) =>
      inviteLink(
        await onGroup(body.groupId, () => callSession(temporal, taskQueue, instanceOf(res).id, 'revokeGroupInvite', body.groupId)),
      ),
    ),
  );
  router.post(
    '/join',
    route(
      {
        body: z
          .object({ code: inviteCode.optional(), link: inviteCode.optional() })
          .refine((b) => b.code || b.link, { message: 'code (or link) is required', path: ['code'] }),
      },
      async ({ body }, _req, res) => {
        const instanceId = instanceOf(res).id;
        const code = (body.code ?? body.link)!;
        let groupId: string;
        try {
          groupId = await callSession(temporal, taskQueue, instanceId, 'joinGroup', code);
        } catch (err) {
          // 406 revoked, 410 expired, 404 never issued (or the group is gone).
          if (err instanceof WhatsAppRefused && [404, 406, 410].includes(err.whatsappStatus))
            throw new NotFound(`invite code ${code} is not valid (revoked, expired or unknown)`, 'INVITE_NOT_VALID');
          throw err;
        }
        await refresh(instanceId, groupId);
        return { success: true, groupId };
      },
    ),
  );
  router.post(
    '/leave',
    route({ body: z.object({ groupId: groupJid() }) }, async ({ body }, _req, res) => {
      const instanceId = instanceOf(res).id;
      await onGroup(body.groupId, () => callSession(temporal, taskQueue, instanceId, 'leaveGroup', body.groupId));
      await forgetGroup(db, instanceId, body.groupId);
      groupCache.delete(`${instanceId}|${body.groupId}`);
      return { success: true };
    }),
  );
}
