/**
 * Channels (newsletters): `GET .../channels` (followed and owned),
 * `POST .../channels` (create one the account owns), `.../channels/follow`
 * (by invite link or code), `.../channels/unfollow`, and
 * `GET .../channels/messages` (a channel's latest posts, asked of WhatsApp).
 * The account posts to its own channels with the send endpoints (`to`: the
 * channel's id); new posts of followed channels are `channel_message` events.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { forgetChannel, getChannel, listChannels, saveChannel } from '../db/channels.js';
import { isChannelJid } from '../domain/recipients.js';
import { callSession, WhatsAppRefused, type SessionCallDeps } from '../temporal/sessionCalls.js';
import { NotFound } from '../lib/errors.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';

const INVITE = /^(?:https?:\/\/(?:www\.)?whatsapp\.com\/channel\/)?([A-Za-z0-9_-]{10,40})\/?$/;
const channelId = z.string().trim().refine(isChannelJid, 'must be a channel id (…@newsletter)');
const invite = z
  .string()
  .trim()
  .transform((value, ctx) => {
    const code = value.match(INVITE)?.[1];
    if (!code) ctx.addIssue({ code: 'custom', message: 'must be a channel invite link (https://whatsapp.com/channel/…) or its code' });
    return code ?? z.NEVER;
  });

export function channelsRouter({ db, temporal, taskQueue }: { db: Db } & SessionCallDeps): Router {
  const router = Router({ mergeParams: true });

  router.get(
    '/',
    route({}, async (_input, _req, res) => listChannels(db, instanceOf(res).id)),
  );

  router.post(
    '/',
    route(
      {
        body: z.object({
          name: z.string().trim().min(1, 'name must not be empty').max(100, 'name must be at most 100 characters'),
          description: z.string().max(2_048, 'description must be at most 2048 characters').optional(),
        }),
      },
      async ({ body }, _req, res) => {
        const instanceId = instanceOf(res).id;
        const channel = await callSession(temporal, taskQueue, instanceId, 'createChannel', body.name, body.description);
        await saveChannel(db, instanceId, channel);
        return channel;
      },
    ),
  );

  router.post(
    '/follow',
    route({ body: z.object({ invite }) }, async ({ body }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const channel = await callSession(temporal, taskQueue, instanceId, 'channelInfo', { invite: body.invite }).catch((err: unknown) => {
        if (err instanceof WhatsAppRefused && err.whatsappStatus === 404)
          throw new NotFound(`invite: no channel with the invite code ${body.invite}`, 'CHANNEL_NOT_FOUND');
        throw err;
      });
      if (channel.role === 'guest') await callSession(temporal, taskQueue, instanceId, 'followChannel', channel.id);
      const followed = { ...channel, role: channel.role === 'guest' ? ('subscriber' as const) : channel.role };
      await saveChannel(db, instanceId, followed);
      return followed;
    }),
  );

  router.post(
    '/unfollow',
    route({ body: z.object({ channelId }) }, async ({ body }, _req, res) => {
      const instanceId = instanceOf(res).id;
      await callSession(temporal, taskQueue, instanceId, 'unfollowChannel', body.channelId);
      await forgetChannel(db, instanceId, body.channelId);
      return { success: true };
    }),
  );

  router.get(
    '/messages',
    route(
      {
        query: z.object({
          channelId,
          limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1).max(100, 'limit must be at most 100').default(20),
        }),
      },
      async ({ query }, _req, res) => {
        const instanceId = instanceOf(res).id;
        const posts = await callSession(temporal, taskQueue, instanceId, 'channelPosts', query.channelId, query.limit);
        const channel = await getChannel(db, instanceId, query.channelId);
        return { channelId: query.channelId, name: channel?.name ?? null, messages: posts.reverse() };
      },
    ),
  );
  return router;
}
