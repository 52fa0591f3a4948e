/** Docs of channels (newsletters): following, reading, creating, and posting to the account's own. */
import type { RouteDocs } from '../openapi.js';
import { I } from './instances.js';
import { notConnected, whatsappError } from './examples.js';

const CHANNEL_ID = '120363025246125999@newsletter';
const CHANNEL = {
  id: CHANNEL_ID,
  name: 'Kampanyalar',
  description: 'Haftanın fırsatları',
  invite: '0029VaK3fGh7Zr9sLm2Q4x1P',
  subscribers: 1520,
  role: 'subscriber',
  createdAt: 1764669600,
};

export const channelDocs: RouteDocs = {
  [`GET ${I}/channels`]: {
    summary: 'Channels the account follows or owns',
    description: '`role`: `owner`, `admin` or `subscriber`, as WhatsApp last said (when followed or created here).',
    tag: 'Channels',
    responses: { 200: { description: 'OK', example: [CHANNEL] } },
  },
  [`POST ${I}/channels`]: {
    summary: 'Create a channel the account owns',
    description:
      "`name` up to 100 characters, `description` optional. Post to it with the send endpoints (`POST .../messages/chat`, `/image`, ...) and `to` the channel's `id`: through the outbox, as any send.",
    tag: 'Channels',
    example: { name: 'Dükkan Haberleri', description: 'Siparişler ve kampanyalar' },
    responses: {
      200: { description: 'Created', example: { ...CHANNEL, name: 'Dükkan Haberleri', role: 'owner', subscribers: 0 } },
      409: notConnected,
      502: whatsappError,
    },
  },
  [`POST ${I}/channels/follow`]: {
    summary: 'Follow a channel by its invite link',
    description:
      'The link (`https://whatsapp.com/channel/<code>`) or its code. New posts of a followed channel arrive as `channel_message` events (shaped as `message_received`, `chatId` the channel).',
    tag: 'Channels',
    example: { invite: 'https://whatsapp.com/channel/0029VaK3fGh7Zr9sLm2Q4x1P' },
    responses: {
      200: { description: 'Followed', example: CHANNEL },
      404: {
        description: 'No channel with that invite code',
        example: { error: 'invite: no channel with the invite code 0029VaK3fGh7Zr9sLm2Q4x1P', code: 'CHANNEL_NOT_FOUND' },
      },
      409: notConnected,
    },
  },
  [`GET ${I}/channels/messages`]: {
    summary: "A channel's latest posts, newest first",
    description:
      "Asked of WhatsApp: also posts from before the account followed it. `serverId` is the channel's own numbering of its posts.",
    tag: 'Channels',
    parameters: { channelId: CHANNEL_ID, limit: 20 },
    required: ['channelId'],
    responses: {
      200: {
        description: 'OK',
        example: {
          channelId: CHANNEL_ID,
          name: 'Kampanyalar',
          messages: [{ id: '3EB0B1C2D3E4F5A6B7C8', serverId: 101, timestamp: 1764669600, type: 'chat', body: 'Yeni ürünler geldi' }],
        },
      },
      409: notConnected,
      502: whatsappError,
    },
  },
  [`POST ${I}/channels/unfollow`]: {
    summary: 'Unfollow a channel',
    tag: 'Channels',
    example: { channelId: CHANNEL_ID },
    responses: { 200: { description: 'OK', example: { success: true } }, 409: notConnected, 502: whatsappError },
  },
};
