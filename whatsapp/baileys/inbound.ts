import {
  getContentType,
  normalizeMessageContent,
  jidNormalizedUser,
  proto,
  type WAMessage,
  type BaileysEventMap,
  type WAMessageUpdate,
} from '@whiskeysockets/baileys';
import type { IncomingMessage, MessageChange, MessageStatus, StatusUpdate } from '../session.js';

/** Baileys' status numbers (proto.WebMessageInfo.Status) in the gateway's words. */
const STATUS: Record<number, MessageStatus> = { 0: 'failed', 1: 'pending', 2: 'sent', 3: 'delivered', 4: 'read', 5: 'played' };

export function statusName(status: number | null | undefined): MessageStatus | undefined {
  return status === null || status === undefined ? undefined : STATUS[status];
}

const TYPES: Record<string, string> = {
  conversation: 'chat',
  extendedTextMessage: 'chat',
  imageMessage: 'image',
  videoMessage: 'video',
  documentMessage: 'document',
  documentWithCaptionMessage: 'document',
  audioMessage: 'audio',
  stickerMessage: 'sticker',
  locationMessage: 'location',
  liveLocationMessage: 'location',
  contactMessage: 'contact',
  contactsArrayMessage: 'contact',
  pollCreationMessage: 'poll',
  pollCreationMessageV2: 'poll',
  pollCreationMessageV3: 'poll',
  reactionMessage: 'reaction',
  buttonsResponseMessage: 'chat',
  listResponseMessage: 'chat',
  templateButtonReplyMessage: 'chat',
};
const MEDIA = new Set(['imageMessage', 'videoMessage', 'documentMessage', 'audioMessage', 'stickerMessage']);

/** The LID of a JID and its alternative form, whichever is one. */
function lidOf(jid: string | null | undefined, alt: string | null | undefined): string | undefined {
  const lid = [jid, alt].find((j) => j?.endsWith('@lid'));
  return lid ? jidNormalizedUser(lid) : undefined;
}

/** Prefers the phone-number form of a JID when WhatsApp gave us one. */
function preferPn(jid: string | null | undefined, alt: string | null | undefined): string {
  const chosen = jid?.endsWith('@lid') && alt ? alt : (jid ?? '');
  return chosen ? jidNormalizedUser(chosen) : '';
}

/** Who sent a message, as a phone-number JID where WhatsApp tells one, and its LID beside. */
export function senderOf(message: WAMessage, ownJid: string, ownLid?: string): { chatId: string; from: string; fromLid?: string } {
  const key = message.key as WAMessage['key'] & { remoteJidAlt?: string; participantAlt?: string };
  const chatId = preferPn(key.remoteJid, key.remoteJidAlt);
  // In a group, and for a status (from status@broadcast), the sender is the participant.
  const isGroup = chatId.endsWith('@g.us') || chatId === 'status@broadcast';
  const from = key.fromMe ? jidNormalizedUser(ownJid) : isGroup ? preferPn(key.participant, key.participantAlt) : chatId;
  const fromLid = key.fromMe
    ? ownLid && jidNormalizedUser(ownLid)
    : isGroup
      ? lidOf(key.participant, key.participantAlt)
      : lidOf(key.remoteJid, key.remoteJidAlt);
  return { chatId, from, ...(fromLid ? { fromLid } : {}) };
}

/** The text of an edited message's new content: a text's, or a media message's caption. */
function editedText(content: proto.IMessage | null | undefined): string | undefined {
  const inner = normalizeMessageContent(content);
  if (!inner) return undefined;
  return (
    inner.conversation ??
    inner.extendedTextMessage?.text ??
    inner.imageMessage?.caption ??
    inner.videoMessage?.caption ??
    inner.documentMessage?.caption ??
    undefined
  );
}

/**
 * A protocol message that edits a message or deletes it for everyone, as the
 * gateway's change of that message; undefined for any other message.
 */
export function toChange(message: WAMessage, ownJid: string, ownLid?: string): MessageChange | undefined {
  const protocol = normalizeMessageContent(message.message)?.protocolMessage;
  const id = protocol?.key?.id;
  if (!protocol || !id) return undefined;
  const { chatId, from, fromLid } = senderOf(message, ownJid, ownLid);
  const base = {
    id,
    chatId,
    by: from,
    ...(fromLid ? { byLid: fromLid } : {}),
    fromMe: !!message.key.fromMe,
    at: Number(message.messageTimestamp ?? Math.floor(Date.now() / 1000)),
  };
  if (protocol.type === proto.Message.ProtocolMessage.Type.REVOKE) return { ...base, kind: 'revoke' };
  if (protocol.type !== proto.Message.ProtocolMessage.Type.MESSAGE_EDIT) return undefined;
  const body = editedText(protocol.editedMessage);
  if (body === undefined) return undefined;
  const at = protocol.timestampMs ? Math.floor(Number(protocol.timestampMs) / 1000) : base.at;
  return { ...base, at, kind: 'edit', body };
}

/**
 * A Baileys message as the gateway's incoming message, or undefined for what
 * is not a user message (protocol messages, history notices, empty stubs).
 */
export function toIncoming(message: WAMessage, ownJid: string, offline = false, ownLid?: string): IncomingMessage | undefined {
  const content = normalizeMessageContent(message.message);
  const kind = content ? getContentType(content) : undefined;
  if (!content || !kind || !(kind in TYPES)) return undefined;
  const key = message.key;
  const own = jidNormalizedUser(ownJid);
  const { chatId, from, fromLid } = senderOf(message, ownJid, ownLid);
  const inner = (content as Record<string, unknown>)[kind] as Record<string, unknown> | string;
  const payload = typeof inner === 'object' && inner ? inner : {};
  const documentInner =
    kind === 'documentWithCaptionMessage' ? (payload.message as proto.IMessage | undefined)?.documentMessage : undefined;
  const media = documentInner ?? (MEDIA.has(kind) ? (payload as proto.Message.IImageMessage & proto.Message.IDocumentMessage) : undefined);
  let type = TYPES[kind]!;
  if (kind === 'audioMessage' && (payload as proto.Message.IAudioMessage).ptt) type = 'voice';
  const caption = (media as { caption?: string | null } | undefined)?.caption ?? undefined;
  const body =
    typeof inner === 'string'
      ? inner
      : ((payload.text as string | undefined) ??
        caption ??
        (payload as proto.Message.IReactionMessage).text ??
        (payload as proto.Message.IPollCreationMessage).name ??
        (payload as proto.Message.IContactMessage).displayName ??
        (payload as proto.Message.ILocationMessage).name ??
        (payload as proto.Message.IButtonsResponseMessage).selectedDisplayText ??
        '');
  return {
    id: key.id!,
    chatId,
    from,
    ...(fromLid ? { fromLid } : {}),
    to: key.fromMe ? chatId : own,
    fromMe: !!key.fromMe,
    type,
    body: body ?? '',
    ...(caption ? { caption } : {}),
    ...(message.pushName ? { pushName: message.pushName } : {}),
    timestamp: Number(message.messageTimestamp ?? Math.floor(Date.now() / 1000)),
    offline,
    ...(type === 'poll' ? { poll: pollOf(payload as proto.Message.IPollCreationMessage, message) } : {}),
    ...(media
      ? {
          media: {
            mimetype: media.mimetype ?? 'application/octet-stream',
            ...(media.fileName ? { fileName: media.fileName } : {}),
            ...(media.fileLength ? { size: Number(media.fileLength) } : {}),
          },
        }
      : {}),
    raw: message,
  };
}

/** A poll's options, how many may be chosen, and its key (votes are encrypted with it), where the message carries it. */
function pollOf(poll: proto.Message.IPollCreationMessage, message: WAMessage): IncomingMessage['poll'] {
  const secret = message.message?.messageContextInfo?.messageSecret;
  return {
    options: (poll.options ?? []).flatMap((o) => (o.optionName ? [o.optionName] : [])),
    selectableCount: poll.selectableOptionsCount ?? 0,
    ...(secret?.length ? { secret: Buffer.from(secret).toString('base64') } : {}),
  };
}

/**
 * Views of the account's own statuses (stories): WhatsApp tells each viewer's
 * receipt as a group's, per participant; the gateway takes them as the status
 * message's acks (delivered, then read once someone viewed it).
 */
export function toStatusViews(receipts: BaileysEventMap['message-receipt.update']): StatusUpdate[] {
  const result: StatusUpdate[] = [];
  for (const { key, receipt } of receipts) {
    if (key.remoteJid !== 'status@broadcast' || !key.fromMe || !key.id) continue;
    const status = receipt.playedTimestamp ? 'played' : receipt.readTimestamp ? 'read' : receipt.receiptTimestamp ? 'delivered' : undefined;
    if (status) result.push({ id: key.id, chatId: key.remoteJid, status, fromMe: true });
  }
  return result;
}

/** Status updates carried by messages.update (receipts) for messages of this account. */
export function toStatusUpdates(updates: WAMessageUpdate[]): StatusUpdate[] {
  const result: StatusUpdate[] = [];
  for (const { key, update } of updates) {
    const status = statusName(update.status);
    if (!status || !key.id || !key.remoteJid) continue;
    result.push({
      id: key.id,
      chatId: preferPn(key.remoteJid, (key as { remoteJidAlt?: string }).remoteJidAlt),
      status,
      fromMe: !!key.fromMe,
    });
  }
  return result;
}
