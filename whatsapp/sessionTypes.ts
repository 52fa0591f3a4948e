/**
 * What a session reports and answers, besides the connection itself: messages
 * and their receipts, edits and deletions, poll votes, labels, channels,
 * groups, chats and contacts, restrictions and calls. Part of the session
 * interface (whatsapp/session.ts re-exports every name).
 */
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'played' | 'failed' | 'received';

export interface StatusUpdate {
  id: string;
  chatId: string;
  status: MessageStatus;
  fromMe: boolean;
}

export interface IncomingMessage {
  id: string;
  chatId: string;
  /** Sender (the participant in a group), as a phone-number JID where WhatsApp tells us. */
  from: string;
  /** The sender's LID (`…@lid`) when WhatsApp gave one, beside `from`. */
  fromLid?: string;
  to: string;
  fromMe: boolean;
  /** Gateway message type: chat, image, video, document, audio, voice, sticker, location, contact, poll, reaction, ... */
  type: string;
  body: string;
  caption?: string;
  pushName?: string;
  timestamp: number;
  /** True when delivered while the device was offline. */
  offline: boolean;
  /** Present for media messages: download with `session.downloadMedia(message)`. */
  media?: { mimetype: string; fileName?: string; size?: number };
  /** Present for a poll: its options, how many may be chosen (0: any number) and its key (base64), to read votes with. */
  poll?: { options: string[]; selectableCount: number; secret?: string };
  /** The driver's own representation, kept to download media later. */
  raw?: unknown;
}

/**
 * A message changed after it was sent: its sender edited it (`edit`, with the
 * new text or caption), or it was deleted for everyone (`revoke`: by its
 * sender or, in a group, by an admin). `by` is who did it, as a phone-number
 * JID where WhatsApp tells one; `fromMe` when it was the account itself (on
 * the phone or another linked device). `at`: when (unix seconds).
 */
export type MessageChange = { id: string; chatId: string; by: string; byLid?: string; fromMe: boolean; at: number } & (
  { kind: 'edit'; body: string } | { kind: 'revoke' }
);

/**
 * A vote on a poll, as it arrived: encrypted with the poll's key, so only
 * `session.readPollVote` with the poll can tell what was chosen. A voter's
 * later vote on the same poll replaces the earlier one.
 */
export interface PollVote {
  /** The poll's message id. */
  pollId: string;
  chatId: string;
  /** Who voted, as a phone-number JID where WhatsApp tells one. */
  voter: string;
  voterLid?: string;
  fromMe: boolean;
  /** When it was cast (ms since the epoch). */
  at: number;
  /** The driver's encrypted vote. */
  encrypted: unknown;
}

/** What `readPollVote` needs of the poll a vote is on. */
export interface PollForVotes {
  /** Its key (base64), from when it was sent or received. */
  secret: string;
  options: string[];
  /** Its author (phone-number JID and LID, where known); the account for its own poll. */
  author: string[];
  fromMe: boolean;
}

/** A label of a WhatsApp Business account: `color` is WhatsApp's palette index (0 to 19). */
export interface Label {
  id: string;
  name: string;
  color: number;
  deleted?: boolean;
}

/**
 * A change of the account's labels, made on another device (the phone) and
 * synced to this one: a label created, renamed, recoloured or deleted, or a
 * label put on a chat or taken off it.
 */
export type LabelChange = ({ kind: 'label' } & Label) | { kind: 'chat'; chatId: string; labelId: string; labeled: boolean };

/** A channel (newsletter) as WhatsApp describes it to the account; `role` is the account's. */
export interface ChannelInfo {
  /** `…@newsletter` */
  id: string;
  name: string;
  description: string | null;
  /** Its invite code (`https://whatsapp.com/channel/<code>`). */
  invite: string | null;
  subscribers: number;
  role: 'owner' | 'admin' | 'subscriber' | 'guest';
  /** Unix seconds. */
  createdAt: number | null;
}

/** A post of a channel, as a fetch of its latest posts gives it. */
export interface ChannelPost {
  id: string;
  /** The channel's own numbering of its posts. */
  serverId: number;
  timestamp: number;
  /** As a message's type: chat, image, video... */
  type: string;
  body: string;
}

export interface GroupInfo {
  id: string;
  name: string;
  description: string | null;
  owner: string | null;
  creation: number | null;
  /** Members by phone-number JID where known, with their LID beside when WhatsApp gave one. */
  participants: Array<{ id: string; lid?: string; admin: 'admin' | 'superadmin' | null }>;
  /** Only admins may send messages. */
  announce?: boolean;
  /** Only admins may change the subject, the description and the picture. */
  restrict?: boolean;
}

export type GroupParticipantAction = 'add' | 'remove' | 'promote' | 'demote';

/**
 * What WhatsApp made of one participant of a group change: `status` 200
 * done; otherwise its code (403 refused, e.g. by their privacy settings; 404
 * not on WhatsApp, or not a member; 409 already a member...).
 */
export interface ParticipantResult {
  id: string;
  status: number;
}

/** Members changed in a group the account is in, by the account itself or by someone else. */
export interface GroupParticipantsChange {
  groupId: string;
  action: GroupParticipantAction;
  /** Phone-number JIDs where WhatsApp tells them. */
  participants: string[];
  /** Their LIDs, in the same order (null where WhatsApp gave none); present when WhatsApp gave any. */
  participantLids?: Array<string | null>;
  /** Who made the change (a member leaving is its own author), when WhatsApp says. */
  author: string | null;
  /** The author's LID, when WhatsApp gave one. */
  authorLid?: string;
}

/** A group's subject, description or settings changed (only what changed is present). */
export interface GroupUpdate {
  groupId: string;
  subject?: string;
  /** `null`: the description was removed. */
  description?: string | null;
  /** Only admins may send messages. */
  announce?: boolean;
  /** Only admins may change the group's subject, description and picture. */
  restrict?: boolean;
  /** Who made the change, when WhatsApp says. */
  author: string | null;
  /** The author's LID, when WhatsApp gave one. */
  authorLid?: string;
}

/**
 * WhatsApp refused a request as a whole (an iq error): 401 not a member, 403
 * not an admin, 404 no such group, 406/410 an invite code revoked or unknown...
 */
export class WhatsAppRefusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
    this.name = 'WhatsAppRefusal';
  }
}

export interface ChatInfo {
  id: string;
  name?: string | null;
  unreadCount?: number;
  archived?: boolean;
  lastMessage?: number;
}

export interface ContactInfo {
  id: string;
  lid?: string | null;
  name?: string | null;
  notify?: string | null;
}

/** The last message of a chat, which WhatsApp needs to archive or delete the chat. */
export interface LastMessage {
  id: string;
  fromMe: boolean;
  timestamp: number;
}

/** What a chat or the account shows: typing, recording a voice note, stopped; online, offline (account-wide). */
export type PresenceState = 'composing' | 'recording' | 'paused' | 'available' | 'unavailable';

/**
 * A limit WhatsApp put on the account, or its lifting. `messageCapping`: new
 * chats started in a cycle are counted against a quota (warnings first, then
 * capped); `reachoutTimelock`: the account may not reach out to new contacts
 * until `until`.
 */
export type AccountRestriction =
  | {
      kind: 'messageCapping';
      /** True when capped (warnings do not stop sending). */
      active: boolean;
      /** NONE, FIRST_WARNING, SECOND_WARNING or CAPPED. */
      status: string;
      totalQuota?: number;
      usedQuota?: number;
      /** When the quota's cycle ends (ms since the epoch). */
      until?: number;
    }
  | {
      kind: 'reachoutTimelock';
      active: boolean;
      /** When it ends (ms since the epoch), when WhatsApp says. */
      until?: number;
      /** WhatsApp's reason, e.g. BIZ_QUALITY; DEFAULT when none. */
      enforcementType?: string;
    };
/** What a call did, as WhatsApp tells the account's devices: offered, or ended in one of these ways. */
export type CallStatus = 'offer' | 'reject' | 'accept' | 'timeout' | 'terminate';

export interface IncomingCall {
  /** WhatsApp's call id. */
  id: string;
  /** The caller, as a phone-number JID where WhatsApp tells one (else its LID). */
  from: string;
  /** The caller's LID, when WhatsApp named the caller by it. */
  fromLid?: string;
  /** The caller as WhatsApp names the call's creator (what `rejectCall` needs). */
  creator: string;
  status: CallStatus;
  /** Known from the offer (later updates of the same call repeat it). */
  video: boolean;
  group: boolean;
  timestamp: number;
  /** True when the call came while the device was offline (it is over by now). */
  offline: boolean;
}
