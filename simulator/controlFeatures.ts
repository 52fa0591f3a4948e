/**
 * The control API's routes for what phones do beyond texts and groups: edit
 * and delete messages, vote on polls, post and view statuses, keep labels,
 * run and follow channels.
 */
import { z } from 'zod';
import { BadRequest, NotFound } from '../lib/errors.js';
import { pnJid, type SimUser } from './directory.js';
import { editFromPhone, revokeFromPhone } from './changes.js';
import { voteFromPhone } from './polls.js';
import { postStatus, viewStatus } from './status.js';
import { editLabelOnPhone, labelChatOnPhone, labelsOf } from './labels.js';
import { publish, type SimChannel } from './channels.js';
import { groupOr404, parse, phone, type Handler } from './controlKit.js';
import type { Simulator } from './simulator.js';

/** What these routes need of the control API's context (control.ts). */
interface FeatureContext {
  sim: Simulator;
  known: (phone: string) => SimUser;
  linkedOrConflict: (user: SimUser) => unknown;
}

const schemas = {
  change: z.object({
    from: phone,
    to: phone.optional(),
    group: z.string().min(1).optional(),
    id: z.string().min(1),
    /** An edit's new text; without it, a delete for everyone. */
    body: z.string().min(1).optional(),
    /** For an admin's delete of a member's message in a group: that member. */
    author: phone.optional(),
    /** `from` is the linked account's own phone, changing a message it wrote there. */
    own: z.boolean().optional(),
  }),
  vote: z.object({
    from: phone,
    pollId: z.string().min(1),
    options: z.array(z.string()),
    group: z.string().min(1).optional(),
    addressing: z.enum(['pn', 'lid']).optional(),
  }),
  status: z.object({ from: phone, to: z.array(phone).min(1), body: z.string().min(1).max(700) }),
  statusView: z.object({ viewer: phone, owner: phone, id: z.string().min(1) }),
  label: z.object({
    phone,
    id: z.string().min(1).max(64),
    name: z.string().min(1).max(100),
    color: z.number().int().min(0).max(19).default(0),
    deleted: z.boolean().optional(),
  }),
  labelChat: z.object({ phone, chat: z.string().min(1), labelId: z.string().min(1), labeled: z.boolean() }),
  labels: z.object({ phone }),
  channel: z.object({ owner: phone, name: z.string().min(1).max(100), description: z.string().max(2_048).optional() }),
  channelPost: z.object({ channel: z.string().min(1), body: z.string().min(1) }),
  channelFollow: z.object({ channel: z.string().min(1), phone, follow: z.boolean().default(true) }),
  channelId: z.object({ id: z.string().min(1) }),
};

const describeChannel = (channel: SimChannel) => ({
  id: channel.id,
  name: channel.name,
  description: channel.description,
  invite: channel.invite,
  link: `https://whatsapp.com/channel/${channel.invite}`,
  owner: channel.owner.phone,
  followers: [...channel.followers].map((u) => u.phone),
  posts: channel.posts.map((p) => ({
    serverId: p.serverId,
    id: p.id,
    t: p.t,
    text: p.message.conversation ?? p.message.extendedTextMessage?.text ?? p.message.imageMessage?.caption ?? null,
  })),
});

export function featureRoutes({ sim, known, linkedOrConflict }: FeatureContext): Record<string, Handler> {
  const channelOr404 = (id: string) => {
    const channel = sim.channelRegistry.channels.get(id);
    if (!channel) throw new NotFound(`no simulated channel ${id}`);
    return channel;
  };
  return {
    // A phone edits a message it sent (`body`), or deletes it for everyone: its own, or as a group admin a member's (`author`).
    'POST /control/messages/change': async (body) => {
      const input = parse(schemas.change, body);
      if (Boolean(input.to) === Boolean(input.group)) throw new BadRequest('give either "to" (a phone) or "group" (a group id)');
      if (input.body !== undefined && input.author) throw new BadRequest('only its sender edits a message: "author" is for deletes');
      const from = known(input.from);
      const target = input.to ? { to: known(input.to) } : { group: groupOr404(sim, input.group!).id };
      if (target.to) linkedOrConflict(target.to);
      const change = { from, id: input.id, own: input.own, author: input.author ? known(input.author) : undefined, ...target };
      const id = input.body !== undefined ? await editFromPhone(sim, { ...change, body: input.body }) : await revokeFromPhone(sim, change);
      return { body: { id } };
    },

    // A phone votes on a poll it received (by option names; none withdraws its vote).
    'POST /control/polls/vote': async (body) => {
      const input = parse(schemas.vote, body);
      const from = known(input.from);
      const id = await voteFromPhone(sim, { ...input, from }).catch((err: Error) => {
        throw new BadRequest(err.message);
      });
      return { body: { id } };
    },

    // A phone posts a text status that its contacts `to` get; and a phone views a linked account's status.
    'POST /control/status': async (body) => {
      const input = parse(schemas.status, body);
      const audience = input.to.map(known);
      const id = await postStatus(sim, known(input.from), audience, { extendedTextMessage: { text: input.body } });
      return { body: { id } };
    },
    'POST /control/status/view': async (body) => {
      const input = parse(schemas.statusView, body);
      const owner = known(input.owner);
      linkedOrConflict(owner);
      return { body: { devices: await viewStatus(sim, known(input.viewer), owner, input.id) } };
    },

    // The labels on a (Business) account's phone: made, renamed, deleted, put on chats; and what they are now.
    'GET /control/labels': (_body, query) => ({ body: labelsOf(sim, known(parse(schemas.labels, Object.fromEntries(query)).phone)) }),
    'POST /control/labels': async (body) => {
      const { phone: owner, ...label } = parse(schemas.label, body);
      await editLabelOnPhone(sim, known(owner), label);
      return { body: labelsOf(sim, known(owner)) };
    },
    'POST /control/labels/chat': async (body) => {
      const input = parse(schemas.labelChat, body);
      const chat = /^\d{6,15}$/.test(input.chat) ? pnJid(input.chat) : input.chat;
      await labelChatOnPhone(sim, known(input.phone), chat, input.labelId, input.labeled);
      return { body: labelsOf(sim, known(input.phone)) };
    },

    // Channels: a phone creates one, posts to it, follows or unfollows one; and what a channel is now.
    'GET /control/channels': (_body, query) => ({
      body: describeChannel(channelOr404(parse(schemas.channelId, Object.fromEntries(query)).id)),
    }),
    'POST /control/channels': (body) => {
      const input = parse(schemas.channel, body);
      const channel = sim.channelRegistry.create(known(input.owner), input.name, input.description);
      sim.changed();
      return { status: 201, body: describeChannel(channel) };
    },
    'POST /control/channels/post': async (body) => {
      const input = parse(schemas.channelPost, body);
      const post = await publish(sim, channelOr404(input.channel), { conversation: input.body });
      return { body: { id: post.id, serverId: post.serverId } };
    },
    'POST /control/channels/follow': (body) => {
      const input = parse(schemas.channelFollow, body);
      const channel = channelOr404(input.channel);
      if (input.follow) channel.followers.add(known(input.phone));
      else channel.followers.delete(known(input.phone));
      sim.changed();
      return { body: describeChannel(channel) };
    },
  };
}
