/**
 * The control API's routes for groups and calls: a phone creates groups and
 * administers them (members, subject, settings, description, invites,
 * joining, leaving), calls and ends calls.
 */
import { z } from 'zod';
import { describeCall } from './calls.js';
import { MEMBER_ACTIONS } from './groupAdmin.js';
import { roleOf, type SimGroup } from './groups.js';
import { pnJid } from './directory.js';
import { groupOr404, parse, phone, type Handler } from './controlKit.js';
import type { ControlContext } from './control.js';

const schemas = {
  group: z.object({
    subject: z.string().min(1),
    owner: phone,
    participants: z.array(phone).default([]),
    admins: z.array(phone).optional(),
    description: z.string().optional(),
    addressingMode: z.enum(['pn', 'lid']).optional(),
  }),
  call: z.object({ from: phone, to: phone, video: z.boolean().optional() }),
  callId: z.object({ id: z.string().min(1) }),
  groupId: z.object({ id: z.string().min(1) }),
  groupMembers: z.object({
    group: z.string().min(1),
    by: phone,
    action: z.enum(MEMBER_ACTIONS as [string, ...string[]]),
    participants: z.array(phone).min(1),
  }),
  groupSubject: z.object({ group: z.string().min(1), by: phone, subject: z.string().min(1) }),
  groupSettings: z
    .object({ group: z.string().min(1), by: phone, announce: z.boolean().optional(), restrict: z.boolean().optional() })
    .refine((b) => b.announce !== undefined || b.restrict !== undefined, 'announce or restrict is required'),
  groupDescription: z.object({ group: z.string().min(1), by: phone, description: z.string().nullable() }),
  groupInvite: z.object({ group: z.string().min(1), by: phone }),
  groupJoin: z.object({ phone, code: z.string().min(1) }),
  groupLeave: z.object({ group: z.string().min(1), phone }),
  groupNotices: z.object({ group: z.string().min(1).optional(), to: phone.optional() }),
};

const describeGroup = (group: SimGroup) => ({
  id: group.id,
  subject: group.subject,
  description: group.description ?? null,
  announce: !!group.announce,
  restrict: !!group.restrict,
  owner: group.owner.phone,
  participants: group.participants.map((u) => ({ phone: u.phone, role: roleOf(group, u) ?? null })),
});

export /** Groups a phone creates, and calls: offered, ended, answered elsewhere. */
function callRoutes({ sim, known, linked, linkedOrConflict, knownCall }: ControlContext): Record<string, Handler> {
  return {
    'POST /control/groups': (body) => {
      const group = sim.createGroup(parse(schemas.group, body));
      return {
        status: 201,
        body: {
          id: group.id,
          subject: group.subject,
          participants: group.participants.map((u) => u.phone),
          admins: [...group.admins].map((u) => u.phone),
        },
      };
    },

    // The phone of `from` calls the account of `to`: its linked devices ring (a <call><offer>).
    'POST /control/call': async (body) => {
      const input = parse(schemas.call, body);
      known(input.from);
      linkedOrConflict(known(input.to));
      return { status: 201, body: describeCall(await sim.call(input.from, input.to, { video: input.video })) };
    },

    'GET /control/calls': () => ({ body: [...sim.callRegistry.calls.values()].map(describeCall) }),

    // The caller hangs up (the devices see it missed), or the account's phone answers (accepted elsewhere).
    'POST /control/call/end': async (body) => {
      const call = knownCall(parse(schemas.callId, body).id);
      await sim.callRegistry.hangUp(call);
      return { body: describeCall(call) };
    },
    'POST /control/call/answer': async (body) => {
      const call = knownCall(parse(schemas.callId, body).id);
      await sim.callRegistry.answer(call);
      return { body: describeCall(call) };
    },
  };
}

/** A phone's part in groups: members, subject, settings, description, invites, joining and leaving. */
export function groupRoutes({ sim, known, asPhone }: ControlContext): Record<string, Handler> {
  return {
    // One group as the phones see it (`?id=`), or every group.
    'GET /control/groups': (_body, query) => {
      if (!query.has('id')) return { body: sim.groupRegistry.all().map(describeGroup) };
      const { id } = parse(schemas.groupId, Object.fromEntries(query));
      return { body: describeGroup(groupOr404(sim, id)) };
    },

    // A member's phone adds, removes, promotes or demotes: a result per participant, notifications to the members.
    'POST /control/groups/participants': async (body) => {
      const input = parse(schemas.groupMembers, body);
      const group = groupOr404(sim, input.group);
      const by = known(input.by);
      const outcomes = await asPhone((admin) =>
        admin.changeMembers(
          group,
          by,
          input.action as (typeof MEMBER_ACTIONS)[number],
          input.participants.map((p) => pnJid(p)),
        ),
      );
      return { body: { participants: outcomes.map((o) => ({ phone: o.jid.split('@')[0], status: o.status })) } };
    },

    'PUT /control/groups/subject': async (body) => {
      const input = parse(schemas.groupSubject, body);
      const group = groupOr404(sim, input.group);
      await asPhone((admin) => admin.setSubject(group, known(input.by), input.subject));
      return { body: describeGroup(group) };
    },

    // An admin's phone switches who may send (announce) or edit the group (restrict).
    'PUT /control/groups/settings': async (body) => {
      const input = parse(schemas.groupSettings, body);
      const group = groupOr404(sim, input.group);
      const by = known(input.by);
      if (input.announce !== undefined)
        await asPhone((admin) => admin.setSetting(group, by, input.announce ? 'announcement' : 'not_announcement'));
      if (input.restrict !== undefined) await asPhone((admin) => admin.setSetting(group, by, input.restrict ? 'locked' : 'unlocked'));
      return { body: describeGroup(group) };
    },

    'PUT /control/groups/description': async (body) => {
      const input = parse(schemas.groupDescription, body);
      const group = groupOr404(sim, input.group);
      await asPhone((admin) => admin.setDescription(group, known(input.by), input.description || null));
      return { body: describeGroup(group) };
    },

    // An admin's phone opens "Invite via link".
    'GET /control/groups/invite': async (_body, query) => {
      const input = parse(schemas.groupInvite, Object.fromEntries(query));
      const group = groupOr404(sim, input.group);
      const code = await asPhone((admin) => admin.inviteCode(group, known(input.by)));
      return { body: { code, link: `https://chat.whatsapp.com/${code}` } };
    },

    'POST /control/groups/join': async (body) => {
      const input = parse(schemas.groupJoin, body);
      const user = known(input.phone);
      const group = await asPhone((admin) => admin.join(user, input.code.replace(/^https:\/\/chat\.whatsapp\.com\//, '')));
      return { body: describeGroup(group) };
    },

    'POST /control/groups/leave': async (body) => {
      const input = parse(schemas.groupLeave, body);
      const group = groupOr404(sim, input.group);
      await asPhone((admin) => admin.leave(known(input.phone), group));
      return { body: { success: true } };
    },

    // The group notifications the phones got (who changed what), in order.
    'GET /control/group-notices': (_body, query) => {
      const input = parse(schemas.groupNotices, Object.fromEntries(query));
      const group = input.group ? groupOr404(sim, input.group).id : undefined;
      return { body: sim.groupAdmin.notices.filter((n) => (!group || n.group === group) && (!input.to || n.to === input.to)) };
    },
  };
}
