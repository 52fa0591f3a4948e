/**
 * Channels (newsletters), as WhatsApp serves them: created, looked up by
 * invite code, followed and unfollowed through GraphQL queries (`w:mex`);
 * their posts are not end-to-end encrypted (a `<plaintext>` message), get a
 * server id, reach the followers' linked devices as they are posted, and are
 * fetched with an `xmlns="newsletter"` iq (`message_updates`).
 */
import { randomBytes } from 'node:crypto';
import { proto, type BinaryNode } from '@whiskeysockets/baileys';
import { bytes, child, iqError, iqResult, unixNow } from './nodes.js';
import type { SimUser } from './directory.js';
import type { SimConnection } from './connection.js';
import type { Simulator } from './simulator.js';

/** Baileys' query ids (Types/Mex.js) for what a channel's follower or owner asks. */
const QUERY = {
  create: '8823471724422422',
  metadata: '6563316087068696',
  follow: '24404358912487870',
  unfollow: '9767147403369991',
} as const;

export interface SimPost {
  serverId: number;
  id: string;
  /** Unix seconds. */
  t: number;
  message: proto.IMessage;
}

export interface SimChannel {
  /** `<digits>@newsletter` */
  id: string;
  name: string;
  description: string;
  /** The invite code (`https://whatsapp.com/channel/<code>`). */
  invite: string;
  owner: SimUser;
  followers: Set<SimUser>;
  /** Unix seconds. */
  creation: number;
  posts: SimPost[];
}

/** A channel as the state file keeps it: people by phone number, each post's message as its protobuf bytes. */
export type SavedChannel = Omit<SimChannel, 'owner' | 'followers' | 'posts'> & {
  owner: string;
  followers: string[];
  posts: Array<Omit<SimPost, 'message'> & { message: Uint8Array }>;
};

export class ChannelRegistry {
  readonly channels = new Map<string, SimChannel>();

  save(): SavedChannel[] {
    return [...this.channels.values()].map((channel) => ({
      ...channel,
      owner: channel.owner.phone,
      followers: [...channel.followers].map((u) => u.phone),
      posts: channel.posts.map((post) => ({ ...post, message: proto.Message.encode(post.message).finish() })),
    }));
  }

  /** `user` finds a saved person by phone number. */
  restore(saved: SavedChannel[], user: (phone: string) => SimUser): void {
    for (const channel of saved)
      this.channels.set(channel.id, {
        ...channel,
        owner: user(channel.owner),
        followers: new Set(channel.followers.map(user)),
        posts: channel.posts.map((post) => ({ ...post, message: proto.Message.decode(post.message) })),
      });
  }

  create(owner: SimUser, name: string, description = ''): SimChannel {
    const id = `120363${String(Date.now()).slice(-9)}${String(this.channels.size).padStart(3, '0')}@newsletter`;
    const channel: SimChannel = {
      id,
      name,
      description,
      invite: randomBytes(11).toString('base64url').slice(0, 22),
      owner,
      followers: new Set(),
      creation: Number(unixNow()),
      posts: [],
    };
    this.channels.set(id, channel);
    return channel;
  }

  byInvite(code: string): SimChannel | undefined {
    return [...this.channels.values()].find((c) => c.invite === code);
  }
}

/** How `user` stands to the channel, as WhatsApp's viewer metadata says it. */
const roleOf = (channel: SimChannel, user: SimUser | undefined) =>
  user === channel.owner ? 'OWNER' : user && channel.followers.has(user) ? 'SUBSCRIBER' : 'GUEST';

/** The channel as WhatsApp's GraphQL answers describe it. */
function describe(channel: SimChannel, viewer: SimUser | undefined) {
  return {
    id: channel.id,
    state: { type: 'ACTIVE' },
    thread_metadata: {
      creation_time: String(channel.creation),
      name: { text: channel.name, id: channel.id, update_time: String(channel.creation) },
      description: { text: channel.description, id: channel.id, update_time: String(channel.creation) },
      invite: channel.invite,
      subscribers_count: String(channel.followers.size),
      verification: 'UNVERIFIED',
      picture: {},
      preview: {},
    },
    viewer_metadata: { mute: 'OFF', role: roleOf(channel, viewer) },
  };
}

const answer = (iq: BinaryNode, data: Record<string, unknown>) =>
  iqResult(iq, [{ tag: 'result', attrs: {}, content: Buffer.from(JSON.stringify({ data })) }]);
const graphError = (iq: BinaryNode, code: number, message: string) =>
  iqResult(iq, [
    { tag: 'result', attrs: {}, content: Buffer.from(JSON.stringify({ errors: [{ message, extensions: { error_code: code } }] })) },
  ]);

/** Answers the `w:mex` queries about channels; undefined for other queries. */
export function answerChannelQuery(sim: Simulator, user: SimUser | undefined, iq: BinaryNode): BinaryNode | undefined {
  const query = child(iq, 'query');
  const id = query?.attrs.query_id;
  if (!user || !Object.values(QUERY).includes(id as never)) return undefined;
  const { variables } = JSON.parse(Buffer.from(bytes(query) ?? []).toString() || '{}') as { variables: Record<string, any> };
  const registry = sim.channelRegistry;
  if (id === QUERY.create) {
    const name = String(variables.input?.name ?? '').trim();
    if (!name) return graphError(iq, 400, 'a channel needs a name');
    const channel = registry.create(user, name, variables.input?.description ?? '');
    sim.changed();
    return answer(iq, { xwa2_newsletter_create: describe(channel, user) });
  }
  if (id === QUERY.metadata) {
    const key = String(variables.input?.key ?? '');
    const channel = variables.input?.type === 'INVITE' ? registry.byInvite(key) : registry.channels.get(key);
    if (!channel) return graphError(iq, 404, 'no such channel');
    return answer(iq, { xwa2_newsletter: describe(channel, user) });
  }
  const channel = registry.channels.get(String(variables.newsletter_id ?? ''));
  if (!channel) return graphError(iq, 404, 'no such channel');
  if (id === QUERY.follow) channel.followers.add(user);
  else channel.followers.delete(user);
  sim.changed();
  return answer(iq, { [id === QUERY.follow ? 'xwa2_newsletter_join_v2' : 'xwa2_newsletter_leave_v2']: { id: channel.id } });
}

/** A post as it travels: to a follower's device, or in a fetch's answer. */
function postNode(channel: SimChannel, post: SimPost): BinaryNode {
  return {
    tag: 'message',
    attrs: {
      from: channel.id,
      id: post.id,
      server_id: String(post.serverId),
      t: String(post.t),
      type: post.message.conversation || post.message.extendedTextMessage ? 'text' : 'media',
    },
    content: [{ tag: 'plaintext', attrs: {}, content: Buffer.from(proto.Message.encode(post.message).finish()) }],
  };
}

/** Answers `xmlns="newsletter"` iqs: the latest posts (`message_updates`), and live updates (accepted). */
export function answerChannelIq(sim: Simulator, iq: BinaryNode): BinaryNode | undefined {
  const channel = sim.channelRegistry.channels.get(iq.attrs.to ?? '');
  if (!channel) return iqError(iq, 404, 'item-not-found');
  const updates = child(iq, 'message_updates');
  if (!updates) return iqResult(iq, [{ tag: 'live_updates', attrs: { duration: '300' } }]);
  const count = Math.max(1, Math.min(100, Number(updates.attrs.count ?? 20)));
  const before = updates.attrs.before ? Number(updates.attrs.before) : Infinity;
  const posts = channel.posts.filter((p) => p.serverId < before).slice(-count);
  return iqResult(iq, [
    {
      tag: 'message_updates',
      attrs: {},
      content: [{ tag: 'messages', attrs: { jid: channel.id }, content: posts.map((p) => postNode(channel, p)) }],
    },
  ]);
}

/** A post to a channel, kept with its next server id and delivered to every follower's linked devices. */
export async function publish(sim: Simulator, channel: SimChannel, message: proto.IMessage, id?: string): Promise<SimPost> {
  const post: SimPost = {
    serverId: (channel.posts.at(-1)?.serverId ?? 99) + 1,
    id: id ?? `3EB0${randomBytes(8).toString('hex').toUpperCase()}`,
    t: Number(unixNow()),
    message,
  };
  channel.posts.push(post);
  sim.changed();
  for (const follower of channel.followers) {
    for (const device of follower.companions.values()) if (!device.removed) await sim.deliver(device, postNode(channel, post));
  }
  return post;
}

/** A linked device posts to a channel: only its owner's devices may (others are refused, 403). */
export async function handleOutgoingChannelMessage(sim: Simulator, conn: SimConnection, node: BinaryNode): Promise<void> {
  const id = node.attrs.id!;
  const to = node.attrs.to!;
  const ack = (attrs: Record<string, string>) =>
    conn.send({ tag: 'ack', attrs: { class: 'message', id, from: to, t: unixNow(), ...attrs } });
  const channel = sim.channelRegistry.channels.get(to);
  const plaintext = bytes(child(node, 'plaintext'));
  if (!channel || !plaintext) return ack({ error: '404' });
  if (conn.companion?.user !== channel.owner) return ack({ error: '403' });
  const post = await publish(sim, channel, proto.Message.decode(plaintext), id);
  await ack({ server_id: String(post.serverId) });
}
