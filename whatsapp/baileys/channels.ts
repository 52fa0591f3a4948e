/**
 * Channels (newsletters) on Baileys' socket: WhatsApp answers its GraphQL
 * queries (`w:mex`) with the channel's metadata, and a fetch of posts with
 * `<message>` nodes whose content is not end-to-end encrypted (`<plaintext>`).
 */
import { getBinaryNodeChildren, proto, type BinaryNode, type WASocket } from '@whiskeysockets/baileys';
import { WhatsAppRefusal, type ChannelInfo, type ChannelPost, type WhatsAppSession } from '../session.js';
import { toIncoming } from './inbound.js';

const ROLES: Record<string, ChannelInfo['role']> = { OWNER: 'owner', ADMIN: 'admin', SUBSCRIBER: 'subscriber' };

/** A channel's metadata as WhatsApp's `xwa2_newsletter` answer gives it. Pure; table-tested. */
export function toChannelInfo(raw: Record<string, any>): ChannelInfo {
  const thread = raw.thread_metadata ?? {};
  const created = Number(thread.creation_time);
  return {
    id: String(raw.id),
    name: thread.name?.text ?? '',
    description: thread.description?.text || null,
    invite: thread.invite ?? null,
    subscribers: Number(thread.subscribers_count ?? 0) || 0,
    role: ROLES[String(raw.viewer_metadata?.role ?? '').toUpperCase()] ?? 'guest',
    createdAt: Number.isFinite(created) && created > 0 ? created : null,
  };
}

/** The posts of a `message_updates` answer, oldest first. Pure; table-tested. */
export function toChannelPosts(channelId: string, answer: BinaryNode): ChannelPost[] {
  const posts: ChannelPost[] = [];
  const visit = (node: BinaryNode) => {
    if (node.tag === 'message' && node.attrs.server_id) {
      const plaintext = getBinaryNodeChildren(node, 'plaintext')[0]?.content;
      const message = plaintext instanceof Uint8Array ? proto.Message.decode(plaintext) : undefined;
      const mapped =
        message &&
        toIncoming(
          { key: { remoteJid: channelId, id: node.attrs.id, fromMe: false }, message, messageTimestamp: Number(node.attrs.t) } as never,
          channelId,
        );
      posts.push({
        id: node.attrs.id ?? '',
        serverId: Number(node.attrs.server_id),
        timestamp: Number(node.attrs.t ?? 0),
        type: mapped?.type ?? 'unknown',
        body: mapped?.body ?? '',
      });
      return;
    }
    if (Array.isArray(node.content)) for (const inner of node.content) visit(inner);
  };
  visit(answer);
  return posts.sort((a, b) => a.serverId - b.serverId);
}

/** A GraphQL error (Baileys throws a Boom with WhatsApp's code) as a WhatsAppRefusal with that code. */
async function refusalsOf<T>(request: () => Promise<T>): Promise<T> {
  try {
    return await request();
  } catch (err) {
    const code = (err as { output?: { statusCode?: number } }).output?.statusCode;
    if (typeof code === 'number' && code >= 400 && code < 600) throw new WhatsAppRefusal(code, (err as Error).message);
    throw err;
  }
}

export function channelMethods(
  socket: WASocket,
): Pick<WhatsAppSession, 'channelInfo' | 'followChannel' | 'unfollowChannel' | 'createChannel' | 'channelPosts'> {
  return {
    async channelInfo(by) {
      const raw = await refusalsOf(() =>
        'invite' in by ? socket.newsletterMetadata('invite', by.invite) : socket.newsletterMetadata('jid', by.id),
      );
      if (!raw) throw new WhatsAppRefusal(404, 'no such channel');
      return toChannelInfo(raw as Record<string, any>);
    },
    async followChannel(id) {
      await refusalsOf(() => socket.newsletterFollow(id));
    },
    async unfollowChannel(id) {
      await refusalsOf(() => socket.newsletterUnfollow(id));
    },
    async createChannel(name, description) {
      const created = await refusalsOf(() => socket.newsletterCreate(name, description));
      return {
        id: created.id,
        name: created.name,
        description: created.description || null,
        invite: created.invite ?? null,
        subscribers: Number(created.subscribers) || 0,
        role: 'owner',
        createdAt: Number.isFinite(created.creation_time) ? (created.creation_time ?? null) : null,
      };
    },
    async channelPosts(id, count) {
      // `since` and `after` are optional in Baileys' code, though its types ask for them.
      const fetchLatest = socket.newsletterFetchMessages as (jid: string, count: number) => Promise<unknown>;
      const answer = await refusalsOf(() => fetchLatest(id, count));
      return toChannelPosts(id, answer as BinaryNode);
    },
  };
}
