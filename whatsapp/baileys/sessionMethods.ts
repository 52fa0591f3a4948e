/**
 * What a session does on the gateway's behalf (WhatsAppSession), on top of
 * Baileys' socket: messages, chats and contacts, groups. The connection's own
 * lifecycle (open, pairing, close) is in connection.ts.
 */
import type { EventEmitter } from 'node:events';
import {
  downloadMediaMessage,
  generateWAMessage,
  jidNormalizedUser,
  type BinaryNode,
  type proto,
  type WAMessage,
  type WASocket,
} from '@whiskeysockets/baileys';
import type { WhatsAppSession } from '../session.js';
import type { SessionContext } from './connection.js';
import { toGroupInfo } from './directory.js';
import { createdGroup, createdGroupId, isCreateAnswer, refusalsTyped, toParticipantResults } from './groups.js';
import { captionEdit, statusOptions, toBaileysContent } from './outbound.js';

/** Ids of the messages a session sent that it remembers (the most recent ones). */
const SENT_REMEMBERED = 10_000;

/** Sending messages and downloading their media. `sentHere`: ids of the messages this session sent. */
export function messageMethods(
  { socket, state, baileysLogger, fetchOptions }: SessionContext,
  sentHere: Set<string>,
): Pick<WhatsAppSession, 'prepare' | 'send' | 'markRead' | 'sendPresence' | 'downloadMedia'> {
  return {
    async prepare(message) {
      // What sendMessage does before it relays: for media, encrypt and upload the file.
      const full = await generateWAMessage(message.to, toBaileysContent(message), {
        ...statusOptions(message),
        logger: baileysLogger,
        userJid: state.creds.me?.id ?? '',
        upload: socket.waUploadToServer,
        options: fetchOptions,
        messageId: message.id,
      });
      return { prepared: full.message };
    },
    async send(message, prepared) {
      sentHere.add(message.id);
      if (sentHere.size > SENT_REMEMBERED) sentHere.delete(sentHere.values().next().value!);
      // A prepared media message needs none of sendMessage's extra attributes (those are for deletes, edits, polls).
      const edit = captionEdit(message);
      const status = statusOptions(message);
      if (prepared)
        await socket.relayMessage(message.to, prepared.prepared as proto.IMessage, {
          messageId: message.id,
          ...(status.statusJidList ? { statusJidList: status.statusJidList } : {}),
        });
      // The stanza of an edit says so (`edit="1"`), as sendMessage's does.
      else if (edit) await socket.relayMessage(message.to, edit, { messageId: message.id, additionalAttributes: { edit: '1' } });
      else await socket.sendMessage(message.to, toBaileysContent(message), { messageId: message.id, ...status });
    },
    async markRead(chatId, messages) {
      await socket.readMessages(
        messages.map((m) => ({ remoteJid: chatId, id: m.id, fromMe: false, ...(m.participant ? { participant: m.participant } : {}) })),
      );
    },
    async sendPresence(presence, to) {
      if (presence === 'available' || presence === 'unavailable') {
        // Baileys drops an account-wide presence while the push name is unknown; WhatsApp takes one without it.
        if (state.creds.me?.name) await socket.sendPresenceUpdate(presence);
        else await socket.sendNode({ tag: 'presence', attrs: { type: presence } });
        return;
      }
      if (!to) throw new Error(`a ${presence} presence needs a chat`);
      await socket.sendPresenceUpdate(presence, to);
    },
    async downloadMedia(message) {
      return downloadMediaMessage(
        message.raw as WAMessage,
        'buffer',
        { options: fetchOptions },
        { reuploadRequest: socket.updateMediaMessage, logger: baileysLogger },
      );
    },
  };
}

/** Numbers on WhatsApp, chats, contacts, calls. */
export function contactMethods(
  socket: WASocket,
): Pick<
  WhatsAppSession,
  'exists' | 'existing' | 'modifyChat' | 'setBlocked' | 'profilePicture' | 'rejectCall' | 'editLabel' | 'labelChat'
> {
  return {
    async editLabel({ id, name, color, deleted }) {
      // An app-state patch (collection `regular`); the chat argument is not used for a label's own edit.
      await socket.addLabel('', { id, name, color, deleted: !!deleted });
    },
    async labelChat(chatId, labelId, labeled) {
      if (labeled) await socket.addChatLabel(chatId, labelId);
      else await socket.removeChatLabel(chatId, labelId);
    },
    async exists(jid) {
      const [result] = (await socket.onWhatsApp(jid)) ?? [];
      return { exists: !!result?.exists, jid: result?.jid ?? jid };
    },
    async existing(jids) {
      const answers = (await socket.onWhatsApp(...jids)) ?? [];
      // Answered by number: the canonical JID may differ from the one asked about.
      const byPhone = new Map(answers.map((a) => [a.jid.split(/[@:]/)[0], !!a.exists]));
      return new Map(jids.map((jid) => [jid, byPhone.get(jid.split(/[@:]/)[0]) ?? false]));
    },
    async modifyChat(chatId, action, last) {
      const lastMessages = last ? [{ key: { remoteJid: chatId, id: last.id, fromMe: last.fromMe }, messageTimestamp: last.timestamp }] : [];
      if (action === 'delete') await socket.chatModify({ delete: true, lastMessages }, chatId);
      else await socket.chatModify({ archive: action === 'archive', lastMessages }, chatId);
    },
    async setBlocked(jid, blocked) {
      await socket.updateBlockStatus(jid, blocked ? 'block' : 'unblock');
    },
    async profilePicture(jid) {
      try {
        return (await socket.profilePictureUrl(jid, 'image', 10_000)) ?? null;
      } catch (err) {
        // WhatsApp answers 404 (none) or 401 (hidden by privacy settings).
        const status = (err as { output?: { statusCode?: number }; data?: number }).output?.statusCode;
        if (status === 404 || status === 401 || /item-not-found|not-authorized/.test(String((err as Error).message))) return null;
        throw err;
      }
    },
    async rejectCall(callId, creator) {
      await socket.rejectCall(callId, creator);
    },
  };
}

type GroupMethod =
  | 'groupMetadata'
  | 'participatingGroups'
  | 'createGroup'
  | 'updateGroupParticipants'
  | 'setGroupSubject'
  | 'setGroupDescription'
  | 'setGroupSettings'
  | 'groupInviteCode'
  | 'revokeGroupInvite'
  | 'joinGroup'
  | 'leaveGroup';

/** Groups: WhatsApp's refusals come out typed (refusalsTyped). */
export function groupMethods(socket: WASocket): Pick<WhatsAppSession, GroupMethod> {
  return {
    groupMetadata(groupId) {
      return refusalsTyped(async () => toGroupInfo(await socket.groupMetadata(groupId)));
    },
    async participatingGroups() {
      return Object.values(await socket.groupFetchAllParticipating()).map(toGroupInfo);
    },
    createGroup(subject, participants) {
      return refusalsTyped(() => createGroupKeepingAnswer(socket, subject, participants));
    },
    updateGroupParticipants(groupId, action, participants) {
      return refusalsTyped(async () =>
        toParticipantResults(await socket.groupParticipantsUpdate(groupId, participants, action), participants),
      );
    },
    setGroupSubject(groupId, subject) {
      return refusalsTyped(() => socket.groupUpdateSubject(groupId, subject));
    },
    setGroupDescription(groupId, description) {
      return refusalsTyped(() => socket.groupUpdateDescription(groupId, description ?? undefined));
    },
    setGroupSettings(groupId, { announce, restrict }) {
      return refusalsTyped(async () => {
        if (announce !== undefined) await socket.groupSettingUpdate(groupId, announce ? 'announcement' : 'not_announcement');
        if (restrict !== undefined) await socket.groupSettingUpdate(groupId, restrict ? 'locked' : 'unlocked');
      });
    },
    groupInviteCode(groupId) {
      return refusalsTyped(async () => required(await socket.groupInviteCode(groupId), 'invite code'));
    },
    revokeGroupInvite(groupId) {
      return refusalsTyped(async () => required(await socket.groupRevokeInvite(groupId), 'invite code'));
    },
    joinGroup(code) {
      return refusalsTyped(async () => jidNormalizedUser(required(await socket.groupAcceptInvite(code), 'group id')));
    },
    leaveGroup(groupId) {
      return refusalsTyped(() => socket.groupLeave(groupId));
    },
  };
}

async function createGroupKeepingAnswer(socket: WASocket, subject: string, participants: string[]) {
  // The per-participant codes are in WhatsApp's answer only (see createdGroup): keep it as it passes.
  const answers: BinaryNode[] = [];
  const keep = (frame: BinaryNode | Uint8Array) => {
    if (!(frame instanceof Uint8Array) && isCreateAnswer(frame)) answers.push(frame);
  };
  const ws = socket.ws as unknown as EventEmitter;
  ws.on('frame', keep);
  try {
    const metadata = await socket.groupCreate(subject, participants);
    return createdGroup(
      metadata,
      participants,
      answers.find((a) => createdGroupId(a) === metadata.id),
    );
  } finally {
    ws.off('frame', keep);
  }
}

/** WhatsApp's answer without what it should hold. */
function required<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null || value === '') throw new Error(`WhatsApp answered without the ${what}`);
  return value;
}
