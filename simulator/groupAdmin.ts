/**
 * Group administration in the simulated world, as WhatsApp's server does it:
 * creating a group, adding, removing, promoting and demoting members (with a
 * result per participant), subject and description, invite links, joining by
 * invite and leaving. Every change is announced with a `w:gp2` notification
 * to the members' linked devices (and recorded as what their phones saw). The
 * same rules answer the `w:g2` iqs of linked devices (Baileys' groupCreate,
 * groupParticipantsUpdate, ...) and the control API's phone actions.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { SimUser } from './directory.js';
import { groupNode, groupNotification, participantNode, roleOf, type SimGroup } from './groups.js';
import { bytes, child, children, iqError, iqResult } from './nodes.js';
import type { Simulator } from './simulator.js';

export type MemberAction = 'add' | 'remove' | 'promote' | 'demote';
export const MEMBER_ACTIONS: readonly MemberAction[] = ['add', 'remove', 'promote', 'demote'];

/** A refusal of the whole request: the iq error WhatsApp answers (401 not a member, 403 not an admin, 404 no such group...). */
export class GroupRefusal extends Error {
  constructor(
    readonly code: number,
    readonly text: string,
  ) {
    super(`${code} ${text}`);
  }
}

/**
 * What happened to one participant of a request, as WhatsApp reports it:
 * 200 done, 404 not on WhatsApp (add) or not a member (remove, promote,
 * demote), 409 already a member, 403 not allowed (the creator's role).
 */
export interface ParticipantOutcome {
  /** As the request named it. */
  jid: string;
  status: number;
  /** With a 403 (their privacy settings): the invite WhatsApp offers to send them instead. */
  addRequest?: { code: string; expiration: string };
}

/** Whether `user`'s privacy settings let `actor` add them to a group. */
const mayAdd = (actor: SimUser, user: SimUser) =>
  (user.groupAddPrivacy ?? 'all') === 'all' || (user.groupAddPrivacy === 'contacts' && user.addressBook.has(actor.phone));

/** The 403 of a participant whose privacy settings refuse the add, with the invite offered instead. */
const refusedByPrivacy = (jid: string): ParticipantOutcome => ({
  jid,
  status: 403,
  addRequest: { code: newInviteCode(), expiration: String(Math.floor(Date.now() / 1000) + 3 * 24 * 3600) },
});

/** A group change as a member's phone saw it (the notification it got). */
export interface GroupNotice {
  /** The phone that got it. */
  to: string;
  group: string;
  change: 'create' | MemberAction | 'subject' | 'description' | GroupSetting;
  /** Who made the change (phone). */
  by: string;
  /** Whom it concerns (phones), for member changes. */
  participants: string[];
  subject?: string;
  description?: string | null;
  at: number;
}

/** The settings an admin switches, as WhatsApp names them in the iq and the notification. */
export const GROUP_SETTINGS = ['announcement', 'not_announcement', 'locked', 'unlocked'] as const;
export type GroupSetting = (typeof GROUP_SETTINGS)[number];

const SUBJECT_MAX = 100;
const DESCRIPTION_MAX = 2048;

export class GroupAdmin {
  /** Every group notification a member's phone got, in order. */
  readonly notices: GroupNotice[] = [];
  /** Invite codes revoked (kept by the state file: a revoked code stays refused as revoked). */
  readonly revokedCodes = new Set<string>();

  constructor(private readonly sim: Simulator) {}

  /** `actor` creates a group with the members named; unknown numbers are not on WhatsApp (404). */
  async create(actor: SimUser, subject: string, jids: string[]): Promise<{ group: SimGroup; outcomes: ParticipantOutcome[] }> {
    if (!subject.trim() || subject.length > SUBJECT_MAX) throw new GroupRefusal(400, 'bad-request');
    const members: SimUser[] = [];
    const outcomes = jids.map((jid) => {
      const user = this.userOf(jid);
      if (!user) return { jid, status: 404 };
      if (user === actor || members.includes(user)) return { jid, status: 409 };
      if (!mayAdd(actor, user)) return refusedByPrivacy(jid);
      members.push(user);
      return { jid, status: 200 };
    });
    const group = this.sim.groupRegistry.create({ subject, owner: actor.phone, participants: members.map((u) => u.phone) });
    await this.announce(
      group,
      actor,
      { tag: 'create', attrs: {}, content: [groupNode(group)] },
      { change: 'create', participants: members },
    );
    return { group, outcomes };
  }

  /** An admin adds, removes, promotes or demotes members: one outcome per participant named. */
  async changeMembers(group: SimGroup, actor: SimUser, action: MemberAction, jids: string[]): Promise<ParticipantOutcome[]> {
    this.mustBeAdmin(group, actor);
    const changed: SimUser[] = [];
    const outcomes = jids.map((jid): ParticipantOutcome => {
      const user = this.userOf(jid);
      const member = !!user && group.participants.includes(user);
      if (action === 'add' && user && !member && !mayAdd(actor, user)) return refusedByPrivacy(jid);
      const status = (() => {
        if (!user) return 404;
        if (changed.includes(user)) return 409;
        switch (action) {
          case 'add':
            if (member) return 409;
            group.participants.push(user);
            return 200;
          case 'remove':
            if (!member) return 404;
            group.participants.splice(group.participants.indexOf(user), 1);
            group.admins.delete(user);
            return 200;
          case 'promote':
            if (!member) return 404;
            group.admins.add(user);
            return 200;
          case 'demote':
            if (!member) return 404;
            // Only the creator's own hand takes away the creator's role.
            if (user === group.owner && actor !== group.owner) return 403;
            group.admins.delete(user);
            return 200;
        }
      })();
      if (status === 200) changed.push(user!);
      return { jid, status };
    });
    if (changed.length) {
      await this.announce(
        group,
        actor,
        { tag: action, attrs: {}, content: changed.map((user) => participantNode(group, user)) },
        // The removed get the notification too: their devices learn they are out.
        { change: action, participants: changed, alsoTo: action === 'remove' ? changed : [] },
      );
    }
    return outcomes;
  }

  /** Admins switch who may send (announcement) and who may edit the group (locked); the members are told. */
  async setSetting(group: SimGroup, actor: SimUser, setting: GroupSetting): Promise<void> {
    this.mustBeAdmin(group, actor);
    if (setting === 'announcement' || setting === 'not_announcement') group.announce = setting === 'announcement';
    else group.restrict = setting === 'locked';
    await this.announce(group, actor, { tag: setting, attrs: {} }, { change: setting });
  }

  /** Any member may change the subject and the description (WhatsApp's default), only admins once the group is locked. */
  async setSubject(group: SimGroup, actor: SimUser, subject: string): Promise<void> {
    this.mayEdit(group, actor);
    if (!subject.trim() || subject.length > SUBJECT_MAX) throw new GroupRefusal(400, 'bad-request');
    group.subject = subject;
    const by = participantNode(group, actor).attrs.jid!;
    await this.announce(
      group,
      actor,
      { tag: 'subject', attrs: { subject, s_o: by, s_t: String(Math.floor(Date.now() / 1000)) } },
      { change: 'subject', subject },
    );
  }

  /**
   * A new description (null: removed). `prev` is the id of the description the
   * client last saw: a different current one means someone changed it
   * meanwhile (409), as WhatsApp answers.
   */
  async setDescription(
    group: SimGroup,
    actor: SimUser,
    description: string | null,
    options: { id?: string; prev?: string } = {},
  ): Promise<void> {
    this.mayEdit(group, actor);
    if (options.prev !== undefined && options.prev !== group.descriptionId) throw new GroupRefusal(409, 'conflict');
    if (description !== null && description.length > DESCRIPTION_MAX) throw new GroupRefusal(400, 'bad-request');
    const id = options.id ?? randomBytes(8).toString('hex').toUpperCase();
    group.description = description ?? undefined;
    group.descriptionId = description === null ? undefined : id;
    const change: BinaryNode =
      description === null
        ? { tag: 'description', attrs: { id, delete: 'true' } }
        : { tag: 'description', attrs: { id }, content: [{ tag: 'body', attrs: {}, content: Buffer.from(description) }] };
    await this.announce(group, actor, change, { change: 'description', description });
  }

  /** The group's invite code (made on first request); admins only. */
  inviteCode(group: SimGroup, actor: SimUser): string {
    this.mustBeAdmin(group, actor);
    if (!group.inviteCode) {
      group.inviteCode = newInviteCode();
      this.sim.changed();
    }
    return group.inviteCode;
  }

  /** A new invite code; the old one no longer lets anyone in. */
  revokeInvite(group: SimGroup, actor: SimUser): string {
    this.mustBeAdmin(group, actor);
    if (group.inviteCode) this.revokedCodes.add(group.inviteCode);
    group.inviteCode = newInviteCode();
    this.sim.changed();
    return group.inviteCode;
  }

  /** `actor` joins by an invite code: 406 for a revoked code, 404 for one never issued. */
  async join(actor: SimUser, code: string): Promise<SimGroup> {
    const group = this.sim.groupRegistry.all().find((g) => g.inviteCode === code);
    if (!group) throw this.revokedCodes.has(code) ? new GroupRefusal(406, 'not-acceptable') : new GroupRefusal(404, 'item-not-found');
    if (group.participants.includes(actor)) return group;
    group.participants.push(actor);
    await this.announce(
      group,
      actor,
      { tag: 'add', attrs: { reason: 'invite' }, content: [participantNode(group, actor)] },
      { change: 'add', participants: [actor] },
    );
    return group;
  }

  /** `actor` leaves: the others and the leaver's own devices are told (a `remove` by the member itself). */
  async leave(actor: SimUser, group: SimGroup): Promise<void> {
    this.mustBeMember(group, actor);
    const change = { tag: 'remove', attrs: {}, content: [participantNode(group, actor)] };
    group.participants.splice(group.participants.indexOf(actor), 1);
    group.admins.delete(actor);
    await this.announce(group, actor, change, { change: 'remove', participants: [actor], alsoTo: [actor] });
  }

  /** By `120363…@g.us` or the bare id; 404 `item-not-found` as WhatsApp answers an unknown group. */
  group(gid: string): SimGroup {
    const group = this.sim.groupRegistry.get(gid);
    if (!group) throw new GroupRefusal(404, 'item-not-found');
    return group;
  }

  private userOf(jid: string): SimUser | undefined {
    return this.sim.directory.find(jid.split(/[@:]/)[0]!);
  }

  private mustBeMember(group: SimGroup, actor: SimUser): void {
    if (!group.participants.includes(actor)) throw new GroupRefusal(401, 'not-authorized');
  }

  private mayEdit(group: SimGroup, actor: SimUser): void {
    if (group.restrict) this.mustBeAdmin(group, actor);
    else this.mustBeMember(group, actor);
  }

  private mustBeAdmin(group: SimGroup, actor: SimUser): void {
    this.mustBeMember(group, actor);
    if (!roleOf(group, actor)) throw new GroupRefusal(403, 'forbidden');
  }

  /** Sends the change's notification to every member's linked devices (and `alsoTo`'s), and records what each phone saw. */
  private async announce(
    group: SimGroup,
    actor: SimUser,
    change: BinaryNode,
    notice: Pick<GroupNotice, 'change' | 'subject' | 'description'> & { participants?: SimUser[]; alsoTo?: SimUser[] },
  ): Promise<void> {
    // Every change is announced: the state file is written a moment later.
    this.sim.changed();
    const node = groupNotification(group, actor, change);
    const recipients = [...new Set([...group.participants, ...(notice.alsoTo ?? [])])];
    const at = Date.now();
    for (const user of recipients) {
      this.notices.push({
        to: user.phone,
        group: group.id,
        change: notice.change,
        by: actor.phone,
        participants: (notice.participants ?? []).map((u) => u.phone),
        ...(notice.subject !== undefined ? { subject: notice.subject } : {}),
        ...(notice.description !== undefined ? { description: notice.description } : {}),
        at,
      });
      for (const device of user.companions.values()) if (!device.removed) await this.sim.deliver(device, node);
    }
  }
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
/** Invite codes are 22 letters and digits (`https://chat.whatsapp.com/<code>`). */
const newInviteCode = () => Array.from({ length: 22 }, () => ALPHABET[randomInt(ALPHABET.length)]).join('');

/** A participant's result as WhatsApp answers it: an `error` code unless done, and the invite offered after a 403. */
const outcomeNode = (o: ParticipantOutcome): BinaryNode => ({
  tag: 'participant',
  attrs: { jid: o.jid, ...(o.status === 200 ? {} : { error: String(o.status) }) },
  ...(o.addRequest ? { content: [{ tag: 'add_request', attrs: o.addRequest }] } : {}),
});

/**
 * The `w:g2` sets (and the invite-code get) a linked device sends; undefined
 * for the queries groups.ts answers (metadata, participating groups).
 */
export async function answerGroupAdminIq(admin: GroupAdmin, asker: SimUser | undefined, iq: BinaryNode): Promise<BinaryNode | undefined> {
  const request = children(iq)[0];
  const to = iq.attrs.to ?? '';
  const isSet = iq.attrs.type === 'set';
  if (!request || (!isSet && request.tag !== 'invite')) return undefined;
  try {
    if (!asker) throw new GroupRefusal(401, 'not-authorized');
    if (to === '@g.us') {
      if (!isSet) return undefined;
      switch (request.tag) {
        case 'create': {
          const jids = children(request)
            .filter((p) => p.tag === 'participant' && p.attrs.jid)
            .map((p) => p.attrs.jid!);
          const { group, outcomes } = await admin.create(asker, request.attrs.subject ?? '', jids);
          // The created group, with the participants that could not be added named beside the members, with their error.
          const answer = groupNode(group);
          const refused = outcomes.filter((o) => o.status !== 200).map(outcomeNode);
          return iqResult(iq, [{ ...answer, content: [...children(answer), ...refused] }]);
        }
        case 'leave': {
          const left = children(request).filter((g) => g.tag === 'group' && g.attrs.id);
          for (const node of left) await admin.leave(asker, admin.group(node.attrs.id!));
          return iqResult(iq, [{ tag: 'leave', attrs: {}, content: left.map((g) => ({ tag: 'group', attrs: { id: g.attrs.id! } })) }]);
        }
        case 'invite': {
          if (!request.attrs.code) throw new GroupRefusal(400, 'bad-request');
          const group = await admin.join(asker, request.attrs.code);
          return iqResult(iq, [{ tag: 'group', attrs: { jid: group.id } }]);
        }
        default:
          return undefined;
      }
    }
    const group = admin.group(to);
    if (!isSet) return iqResult(iq, [{ tag: 'invite', attrs: { code: admin.inviteCode(group, asker) } }]);
    if ((MEMBER_ACTIONS as readonly string[]).includes(request.tag)) {
      const jids = children(request)
        .filter((p) => p.tag === 'participant' && p.attrs.jid)
        .map((p) => p.attrs.jid!);
      const outcomes = await admin.changeMembers(group, asker, request.tag as MemberAction, jids);
      return iqResult(iq, [
        {
          tag: request.tag,
          attrs: {},
          content: outcomes.map(outcomeNode),
        },
      ]);
    }
    switch (request.tag) {
      case 'subject':
        await admin.setSubject(group, asker, bytes(request)?.toString('utf8') ?? '');
        return iqResult(iq);
      case 'description': {
        const body = bytes(child(request, 'body'))?.toString('utf8');
        const deleting = request.attrs.delete === 'true';
        if (!deleting && body === undefined) throw new GroupRefusal(400, 'bad-request');
        await admin.setDescription(group, asker, deleting ? null : body!, { id: request.attrs.id, prev: request.attrs.prev });
        return iqResult(iq);
      }
      case 'invite':
        return iqResult(iq, [{ tag: 'invite', attrs: { code: admin.revokeInvite(group, asker) } }]);
      case 'announcement':
      case 'not_announcement':
      case 'locked':
      case 'unlocked':
        await admin.setSetting(group, asker, request.tag);
        return iqResult(iq);
      default:
        return undefined;
    }
  } catch (err) {
    if (err instanceof GroupRefusal) return iqError(iq, err.code, err.text);
    throw err;
  }
}
