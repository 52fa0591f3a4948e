/**
 * Groups in the simulated world: a registry (subject, description, members
 * and their roles) and the answers to the `w:g2` queries Baileys makes about
 * them: one group's metadata, and the groups an account participates in.
 * Group messages (sender keys) are in groupMessages.ts.
 */
import { randomBytes, randomInt } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';
import { lidJid, pnJid, type SimUser } from './directory.js';
import { child, iqError, iqResult, unixNow } from './nodes.js';

/**
 * How a group names its members on the wire. 'pn': by phone number, with the
 * LID alongside (`lid`, `participant_lid`); 'lid': by LID, with the phone
 * number alongside (`phone_number`, `participant_pn`), as newer groups do.
 */
export type AddressingMode = 'pn' | 'lid';

export interface SimGroup {
  /** `120363…@g.us` */
  id: string;
  subject: string;
  description?: string;
  descriptionId?: string;
  owner: SimUser;
  /** Every member, the owner included. */
  participants: SimUser[];
  admins: Set<SimUser>;
  addressingMode: AddressingMode;
  /** Unix seconds. */
  creation: number;
  /** The current invite link's code (`https://chat.whatsapp.com/<code>`), once an admin asked for one. */
  inviteCode?: string;
  /** Only admins may send messages. */
  announce?: boolean;
  /** Only admins may change the subject, the description and the picture. */
  restrict?: boolean;
}

export interface CreateGroupOptions {
  subject: string;
  description?: string;
  /** The creator's phone number (becomes superadmin and a member). */
  owner: string;
  /** Members' phone numbers; unknown numbers become simulated users. */
  participants: string[];
  admins?: string[];
  addressingMode?: AddressingMode;
}

/** A group as the state file keeps it: its members by phone number. */
export type SavedGroup = Omit<SimGroup, 'owner' | 'participants' | 'admins'> & { owner: string; participants: string[]; admins: string[] };

export class GroupRegistry {
  private readonly groups = new Map<string, SimGroup>();

  /** `resolve` turns a phone number into a simulated user (creating it if needed). */
  constructor(private readonly resolve: (phone: string) => SimUser) {}

  create(options: CreateGroupOptions): SimGroup {
    const owner = this.resolve(options.owner);
    const participants = [owner];
    for (const phone of options.participants) {
      const user = this.resolve(phone);
      if (!participants.includes(user)) participants.push(user);
    }
    // Real group ids are `120363` followed by 12 digits.
    let id = newGroupId();
    while (this.groups.has(id)) id = newGroupId();
    const group: SimGroup = {
      id,
      subject: options.subject,
      description: options.description,
      descriptionId: options.description ? randomBytes(8).toString('hex').toUpperCase() : undefined,
      owner,
      participants,
      admins: new Set((options.admins ?? []).map((phone) => this.resolve(phone)).filter((u) => participants.includes(u))),
      addressingMode: options.addressingMode ?? 'pn',
      creation: Math.floor(Date.now() / 1000),
    };
    this.groups.set(id, group);
    return group;
  }

  /** By `120363…@g.us` or the bare id. */
  get(gid: string): SimGroup | undefined {
    return this.groups.get(gid.includes('@') ? gid : `${gid}@g.us`);
  }

  all(): SimGroup[] {
    return [...this.groups.values()];
  }

  save(): SavedGroup[] {
    return this.all().map((group) => ({
      ...group,
      owner: group.owner.phone,
      participants: group.participants.map((u) => u.phone),
      admins: [...group.admins].map((u) => u.phone),
    }));
  }

  restore(saved: SavedGroup[]): void {
    for (const group of saved) {
      const participants = group.participants.map(this.resolve);
      this.groups.set(group.id, {
        ...group,
        owner: this.resolve(group.owner),
        participants,
        admins: new Set(group.admins.map(this.resolve)),
      });
    }
  }

  /** The groups `user` is a member of. */
  of(user: SimUser): SimGroup[] {
    return [...this.groups.values()].filter((group) => group.participants.includes(user));
  }
}

const newGroupId = () => `120363${randomInt(100_000, 999_999)}${randomInt(100_000, 999_999)}@g.us`;

export function roleOf(group: SimGroup, user: SimUser): 'superadmin' | 'admin' | undefined {
  if (user === group.owner) return 'superadmin';
  return group.admins.has(user) ? 'admin' : undefined;
}

/**
 * How the group names `user` (or one of its devices) on the wire (see
 * AddressingMode), and the other id, which WhatsApp sends without a device.
 */
export function memberJids(group: SimGroup, user: SimUser, device = 0): { jid: string; alt: string } {
  return group.addressingMode === 'lid'
    ? { jid: lidJid(user.lid, device), alt: pnJid(user.phone) }
    : { jid: pnJid(user.phone, device), alt: lidJid(user.lid) };
}

/**
 * A `<group>` node as Baileys' extractGroupMetadata reads it. Each
 * participant carries both ids: `jid` plus `lid` (pn mode) or
 * `phone_number` (lid mode), so metadata gives the gateway both.
 */
export function groupNode(group: SimGroup): BinaryNode {
  const lidMode = group.addressingMode === 'lid';
  const owner = memberJids(group, group.owner);
  const ownerAlt: Record<string, string> = lidMode ? { creator_pn: owner.alt, s_o_pn: owner.alt } : {};
  const creation = String(group.creation);
  const content: BinaryNode[] = [];
  if (group.description) {
    content.push({
      tag: 'description',
      attrs: { id: group.descriptionId!, t: creation, participant: owner.jid, ...(lidMode ? { participant_pn: owner.alt } : {}) },
      content: [{ tag: 'body', attrs: {}, content: Buffer.from(group.description) }],
    });
  }
  if (group.announce) content.push({ tag: 'announcement', attrs: {} });
  if (group.restrict) content.push({ tag: 'locked', attrs: {} });
  for (const user of group.participants) {
    const { jid, alt } = memberJids(group, user);
    const role = roleOf(group, user);
    content.push({
      tag: 'participant',
      attrs: { jid, ...(lidMode ? { phone_number: alt } : { lid: alt }), ...(role ? { type: role } : {}) },
    });
  }
  return {
    tag: 'group',
    attrs: {
      // WhatsApp sends the id without its server part.
      id: group.id.split('@')[0]!,
      subject: group.subject,
      s_t: creation,
      s_o: owner.jid,
      creation,
      creator: owner.jid,
      ...ownerAlt,
      size: String(group.participants.length),
      addressing_mode: group.addressingMode,
    },
    content,
  };
}

/** A member as a `<participant>` of a notification: its id and the other one (see AddressingMode). */
export function participantNode(group: SimGroup, user: SimUser): BinaryNode {
  const { jid, alt } = memberJids(group, user);
  return { tag: 'participant', attrs: { jid, ...(group.addressingMode === 'lid' ? { phone_number: alt } : { lid: alt }) } };
}

/** A `w:gp2` notification: `actor` changed the group (`change` says how), as every member's devices get it. */
export function groupNotification(group: SimGroup, actor: SimUser, change: BinaryNode): BinaryNode {
  const by = memberJids(group, actor);
  return {
    tag: 'notification',
    attrs: {
      from: group.id,
      type: 'w:gp2',
      id: randomBytes(8).toString('hex').toUpperCase(),
      participant: by.jid,
      t: unixNow(),
      ...(group.addressingMode === 'lid' ? { participant_pn: by.alt } : {}),
    },
    content: [change],
  };
}

/** The `w:gp2` notification that `actor` added `added` to the group, as every member's devices get it. */
export function groupAddNotification(group: SimGroup, actor: SimUser, added: SimUser): BinaryNode {
  return groupNotification(group, actor, { tag: 'add', attrs: {}, content: [participantNode(group, added)] });
}

/**
 * `w:g2` queries: metadata of one group (`to` = the group) and the groups the
 * asking account participates in (`to` = `@g.us`). Group changes (create,
 * add, leave, subject, invite links...) are answered in groupAdmin.ts.
 */
export function answerGroupIq(registry: GroupRegistry, asker: SimUser | undefined, iq: BinaryNode): BinaryNode {
  if (iq.attrs.type === 'get' && child(iq, 'participating')) {
    const groups = asker ? registry.of(asker) : [];
    return iqResult(iq, [{ tag: 'groups', attrs: {}, content: groups.map(groupNode) }]);
  }
  if (iq.attrs.type === 'get' && child(iq, 'query')) {
    const group = registry.get(iq.attrs.to ?? '');
    if (!group) return iqError(iq, 404, 'item-not-found');
    // Like WhatsApp: only members (and former members, not simulated) may read a group.
    if (!asker || !group.participants.includes(asker)) return iqError(iq, 401, 'not-authorized');
    return iqResult(iq, [groupNode(group)]);
  }
  return iqError(iq, 501, 'not simulated');
}
