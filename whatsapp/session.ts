/**
 * The session interface: everything the gateway needs from a WhatsApp
 * connection. Only `whatsapp/baileys/` implements it with Baileys; the rest of
 * the system (activities, workers, API) sees these types and nothing else.
 */
import type { Logger } from 'pino';
import type { Media, OutgoingContent } from '../domain/content.js';
import type {
  AccountRestriction,
  ChannelInfo,
  ChannelPost,
  ChatInfo,
  ContactInfo,
  GroupInfo,
  GroupParticipantAction,
  GroupParticipantsChange,
  GroupUpdate,
  IncomingCall,
  IncomingMessage,
  Label,
  LabelChange,
  LastMessage,
  MessageChange,
  ParticipantResult,
  PollForVotes,
  PollVote,
  PresenceState,
  StatusUpdate,
} from './sessionTypes.js';

export type { Media, OutgoingContent };
export * from './sessionTypes.js';

export type ConnectionStatus = 'open' | 'connecting' | 'disconnected';

export interface Account {
  /** Device JID, e.g. `905xx:12@s.whatsapp.net`. */
  id: string;
  name: string | null;
  phone: string;
}

/** Why a connection ended; decides whether and how the holder reconnects. */
export type CloseReason =
  /** Credentials are void (logged out here or removed from the phone): a new QR scan is needed. */
  | 'loggedOut'
  /** WhatsApp asks for an immediate reconnect (after pairing, for example). */
  | 'restartRequired'
  /** The network or the server dropped the socket: reconnect with backoff. */
  | 'connectionLost'
  /** Another client opened a session with the same credentials. */
  | 'replaced'
  /** Nobody scanned the QR before its references ran out. */
  | 'qrTimeout'
  /** WhatsApp refused the session for now (503, 403, bad session): retry later. */
  | 'unavailable'
  /** We closed it ourselves. */
  | 'closed';

export interface SessionClose {
  reason: CloseReason;
  message?: string;
  /** Messages sent on this connection that WhatsApp never acknowledged: to send again, with the same ids. */
  unacked?: string[];
}

export interface OutgoingMessage {
  /** The WhatsApp message id, chosen before sending so a resend is the same message. */
  id: string;
  /** Recipient JID (user or group). */
  to: string;
  content: OutgoingContent;
}

export interface SessionEventHandlers {
  /** A QR code text to show for pairing; replaced by each new one. */
  qr(qr: string): void;
  /** The connection is open and logged in (again called when the account's name becomes known). */
  open(account: Account): void;
  /** Messages that arrived (or were sent from another device of the account). */
  messages?(messages: IncomingMessage[]): void;
  /** Messages edited or deleted for everyone (reported after the messages reported before them). */
  messageChanges?(changes: MessageChange[]): void;
  /** Votes on polls (reported after the messages reported before them: a poll comes before its votes). */
  pollVotes?(votes: PollVote[]): void;
  /** The account's labels changed on another device (not those this session changed: it knows them). */
  labels?(changes: LabelChange[]): void;
  /**
   * Delivery and read receipts for messages. A receipt is acknowledged to
   * WhatsApp (which otherwise delivers it again) once the promise returned
   * resolves: resolve it when the updates are stored, reject if storing failed.
   */
  statuses?(updates: StatusUpdate[]): void | Promise<void>;
  /** Chats learnt from history sync or changed on another device. */
  chats?(chats: ChatInfo[]): void;
  /** Contacts learnt from history sync or address-book changes. */
  contacts?(contacts: ContactInfo[]): void;
  /** Groups the account is in changed (metadata or membership). */
  groups?(groups: GroupInfo[]): void;
  /** These groups changed (members added or removed, subject...), without their new metadata: look them up. */
  groupsChanged?(groupIds: string[]): void;
  /** WhatsApp restricted the account's sending (or lifted a restriction). */
  restriction?(restriction: AccountRestriction): void;
  /** Incoming calls: an offer, then how the call ended (rejected, answered on another device, hung up). */
  calls?(calls: IncomingCall[]): void;
  /** Members were added, removed, promoted or demoted in a group (reported after `groupsChanged` for it). */
  groupParticipants?(change: GroupParticipantsChange): void;
  /** A group's subject, description or settings changed (reported after `groupsChanged` for it). */
  groupUpdate?(update: GroupUpdate): void;
}

/** What `prepare` made of a message: only the session that made it knows what is inside. */
export interface PreparedMessage {
  readonly prepared: unknown;
}

export interface WhatsAppSession {
  /** Resolves once, when the connection has ended for good (a new session is needed to go on). */
  readonly closed: Promise<SessionClose>;
  /** Closes the socket and keeps the credentials, so the session can resume elsewhere. */
  close(): Promise<void>;
  /** Logs this device out of WhatsApp; the stored credentials become void. */
  logout(): Promise<void>;
  /** Resolves when the connection is open (immediately if it is), rejects after `timeoutMs`. */
  waitOpen(timeoutMs: number): Promise<void>;
  /**
   * Resolves once the session's state changed so far (the encryption keys a
   * send advanced) is stored, so another worker resuming the session
   * continues from it; rejects if storing failed (it is retried).
   */
  persisted(): Promise<void>;
  /**
   * Does the slow part of sending a media message ahead of its turn (the
   * encryption and upload of the file), so that `send` with its result only
   * relays the message. Optional: without it, `send` does all of it.
   */
  prepare?(message: OutgoingMessage): Promise<PreparedMessage>;
  /** Sends a message with its pre-chosen id (prepared ahead by `prepare`, or not). */
  send(message: OutgoingMessage, prepared?: PreparedMessage): Promise<void>;
  /** Whether a phone number (JID) has WhatsApp, and its canonical JID. */
  exists(jid: string): Promise<{ exists: boolean; jid: string }>;
  /** Which of these phone-number JIDs have WhatsApp, in one query. */
  existing(jids: string[]): Promise<Map<string, boolean>>;
  /** Downloads the media of an incoming message. */
  downloadMedia(message: IncomingMessage): Promise<Buffer>;
  /** The options a vote chose (none: the voter withdrew the vote), or undefined when it cannot be read with this poll. */
  readPollVote(vote: PollVote, poll: PollForVotes): string[] | undefined;
  /** Sends read receipts for messages of a chat. */
  markRead(chatId: string, messages: Array<{ id: string; participant?: string }>): Promise<void>;
  /**
   * Shows a presence: `composing`, `recording` or `paused` in the chat `to`;
   * `available` or `unavailable` for the whole account (`to` is not used).
   */
  sendPresence(state: PresenceState, to?: string): Promise<void>;
  /** Archives, unarchives or deletes a chat on every device of the account. */
  modifyChat(chatId: string, action: 'archive' | 'unarchive' | 'delete', lastMessage: LastMessage | undefined): Promise<void>;
  setBlocked(jid: string, blocked: boolean): Promise<void>;
  /** URL of the profile picture, or null when there is none (or it is hidden). */
  profilePicture(jid: string): Promise<string | null>;
  groupMetadata(groupId: string): Promise<GroupInfo>;
  participatingGroups(): Promise<GroupInfo[]>;
  /** Creates a group with the account as its owner; a result per participant asked for. */
  createGroup(subject: string, participants: string[]): Promise<{ group: GroupInfo; participants: ParticipantResult[] }>;
  updateGroupParticipants(groupId: string, action: GroupParticipantAction, participants: string[]): Promise<ParticipantResult[]>;
  setGroupSubject(groupId: string, subject: string): Promise<void>;
  /** `null` removes the description. */
  setGroupDescription(groupId: string, description: string | null): Promise<void>;
  /** Who may send (`announce`: admins only) and who may edit the group (`restrict`: admins only). */
  setGroupSettings(groupId: string, settings: { announce?: boolean; restrict?: boolean }): Promise<void>;
  /** The code of the group's invite link (`https://chat.whatsapp.com/<code>`). */
  groupInviteCode(groupId: string): Promise<string>;
  /** Replaces the invite link; the old code stops working. Returns the new code. */
  revokeGroupInvite(groupId: string): Promise<string>;
  /** Joins a group by its invite code; returns the group's id. */
  joinGroup(code: string): Promise<string>;
  leaveGroup(groupId: string): Promise<void>;
  /**
   * Asks WhatsApp for a pairing code for `phone` (digits, with country code), to type on that phone instead of
   * scanning the QR. Only while the device is not paired yet: rejects with PairingRefused otherwise.
   */
  requestPairingCode(phone: string): Promise<string>;
  /** Creates or changes a label (deleted: true deletes it) on every device of the account. */
  editLabel(label: Label): Promise<void>;
  /** Puts a label on a chat, or takes it off, on every device of the account. */
  labelChat(chatId: string, labelId: string, labeled: boolean): Promise<void>;
  /** A channel, by its invite code or its id; WhatsAppRefusal 404 when there is none. */
  channelInfo(by: { invite: string } | { id: string }): Promise<ChannelInfo>;
  followChannel(id: string): Promise<void>;
  unfollowChannel(id: string): Promise<void>;
  /** Creates a channel the account owns. */
  createChannel(name: string, description?: string): Promise<ChannelInfo>;
  /** A channel's latest posts (at most `count`), oldest first. */
  channelPosts(id: string, count: number): Promise<ChannelPost[]>;
  /** Declines an incoming call (`IncomingCall.id`, `IncomingCall.creator`): the caller's phone stops ringing. */
  rejectCall(callId: string, creator: string): Promise<void>;
}

/** Why a pairing code cannot be had now: the device is paired already, or not (yet) registering. */
export class PairingRefused extends Error {
  constructor(
    readonly reason: 'alreadyPaired' | 'notRegistering',
    message: string,
  ) {
    super(message);
    this.name = 'PairingRefused';
  }
}

/**
 * Where a session keeps its credentials. Values are opaque strings whose
 * encoding belongs to the driver; the store only persists them.
 */
/**
 * Where a session's credentials and Signal keys live. A write that fails with
 * an error whose `permanent` is true (the session moved to another worker) is
 * not retried: no later attempt could land.
 */
export interface AuthStore {
  readCreds(): Promise<string | null>;
  writeCreds(creds: string): Promise<void>;
  readKeys(type: string, ids: string[]): Promise<Record<string, string>>;
  writeKeys(changes: Array<{ type: string; id: string; value: string | null }>): Promise<void>;
  clear(): Promise<void>;
}

export interface ConnectOptions {
  instanceId: string;
  auth: AuthStore;
  handlers: SessionEventHandlers;
  logger: Logger;
  /** A proxy for the session's WhatsApp connections (websocket, media uploads and downloads): http://, https://, socks5://. */
  proxyUrl?: string | null;
}

export interface WhatsAppDriver {
  connect(options: ConnectOptions): Promise<WhatsAppSession>;
}
