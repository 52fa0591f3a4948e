import { jidNormalizedUser, type Chat, type Contact, type GroupMetadata } from '@whiskeysockets/baileys';
import type { ChatInfo, ContactInfo, GroupInfo } from '../session.js';

/** Baileys' chats, contacts and groups in the gateway's shapes. Pure; table-tested. */

const pnOf = (jid: string | null | undefined, alt?: string | null) => {
  const chosen = jid?.endsWith('@lid') && alt ? alt : jid;
  return chosen ? jidNormalizedUser(chosen) : '';
};

export function toChatInfo(chat: Partial<Chat>): ChatInfo {
  const info: ChatInfo = { id: pnOf(chat.id, (chat as { pnJid?: string }).pnJid) };
  if (chat.name !== undefined) info.name = chat.name ?? null;
  if (typeof chat.unreadCount === 'number') info.unreadCount = Math.max(0, chat.unreadCount);
  if (typeof chat.archived === 'boolean') info.archived = chat.archived;
  const last = chat.conversationTimestamp ?? chat.lastMessageRecvTimestamp;
  if (last !== undefined && last !== null) info.lastMessage = Number(last);
  return info;
}

/**
 * A live chat change. Baileys gives `unreadCount` there as an increment per
 * new message, which the gateway counts itself as it stores each message;
 * zero or less means the chat was read on another device.
 */
export function toLiveChatInfo(chat: Partial<Chat>): ChatInfo {
  const info = toChatInfo(chat);
  if (info.unreadCount !== undefined && (chat.unreadCount ?? 0) > 0) delete info.unreadCount;
  return info;
}

export function toContactInfo(contact: Partial<Contact>): ContactInfo {
  const id = pnOf(contact.id, contact.phoneNumber);
  const info: ContactInfo = { id };
  const lid = contact.lid ?? (contact.id?.endsWith('@lid') ? contact.id : undefined);
  if (lid) info.lid = lid;
  if (contact.name !== undefined) info.name = contact.name ?? null;
  if (contact.notify !== undefined) info.notify = contact.notify ?? null;
  return info;
}

/** The LID among a JID and its alternatives, if any. */
export const lidAmong = (...jids: Array<string | null | undefined>): string | undefined => {
  const lid = jids.find((j) => j?.endsWith('@lid'));
  return lid ? jidNormalizedUser(lid) : undefined;
};

export function toGroupInfo(group: GroupMetadata): GroupInfo {
  return {
    id: group.id,
    name: group.subject ?? '',
    description: group.desc ?? null,
    owner: group.owner ? pnOf(group.owner, group.ownerPn) : null,
    creation: group.creation ?? null,
    participants: group.participants.map((p) => {
      const lid = lidAmong(p.id, p.lid);
      return {
        id: pnOf(p.id, p.phoneNumber),
        ...(lid ? { lid } : {}),
        admin: p.admin === 'admin' || p.admin === 'superadmin' ? p.admin : null,
      };
    }),
    announce: !!group.announce,
    restrict: !!group.restrict,
  };
}
