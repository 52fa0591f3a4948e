import { proto, type AnyMessageContent } from '@whiskeysockets/baileys';
import { unhandled } from '../../domain/content.js';
import type { OutgoingMessage } from '../session.js';

/** The gateway's message content as Baileys' sendMessage content. Pure; table-tested. */
export function toBaileysContent({ to, content }: OutgoingMessage): AnyMessageContent {
  switch (content.type) {
    case 'text':
      return { text: content.body };
    case 'image':
    case 'status_image':
      return { image: content.media.bytes, mimetype: content.media.mimetype, caption: content.caption };
    case 'video':
    case 'status_video':
      return { video: content.media.bytes, mimetype: content.media.mimetype, caption: content.caption };
    case 'sticker':
      return { sticker: content.media.bytes, mimetype: content.media.mimetype };
    case 'document':
      return { document: content.media.bytes, mimetype: content.media.mimetype, fileName: content.filename, caption: content.caption };
    case 'audio':
      return { audio: content.media.bytes, mimetype: content.media.mimetype, ptt: false };
    case 'voice':
      return { audio: content.media.bytes, mimetype: content.media.mimetype, ptt: true };
    case 'location':
      return { location: { degreesLatitude: content.lat, degreesLongitude: content.lng, name: content.name, address: content.address } };
    case 'contact':
      return {
        contacts: { displayName: content.name, contacts: [{ displayName: content.name, vcard: vcard(content.name, content.phone) }] },
      };
    case 'poll':
      return {
        poll: {
          name: content.name,
          values: content.values,
          selectableCount: content.selectableCount,
          // The same key on every send of it (a resend after a crash): the votes are read with it.
          ...(content.secret ? { messageSecret: Buffer.from(content.secret, 'base64') } : {}),
        },
      };
    case 'reaction':
      return { react: { text: content.emoji, key: { remoteJid: to, id: content.messageId, fromMe: content.fromMe } } };
    case 'delete':
      return { delete: { remoteJid: to, id: content.messageId, fromMe: content.fromMe } };
    case 'status_text':
      // Its colour and font go as sendMessage's options (statusOptions).
      return { text: content.body };
    case 'edit':
      // A caption's edit is sent as captionEdit builds it; Baileys' `edit` makes a text's.
      return { text: content.body, edit: { remoteJid: to, id: content.messageId, fromMe: true } };
    default:
      return unhandled(content);
  }
}

/**
 * What a status needs besides its content: who gets it (`statusJidList`), and
 * a text status's background colour and font. Empty for any other message.
 */
export function statusOptions({ content }: OutgoingMessage): {
  statusJidList?: string[];
  backgroundColor?: string;
  font?: number;
  broadcast?: boolean;
} {
  if (content.type !== 'status_text' && content.type !== 'status_image' && content.type !== 'status_video') return {};
  return {
    statusJidList: content.audience,
    broadcast: true,
    ...(content.type === 'status_text' && content.backgroundColor ? { backgroundColor: content.backgroundColor } : {}),
    ...(content.type === 'status_text' && content.font !== undefined ? { font: content.font } : {}),
  };
}

/**
 * The edit of a media message's caption, as WhatsApp's clients send it: the
 * protocol message carries the media message's kind with its new caption
 * (Baileys' `edit` would make it a text). Undefined for any other message.
 */
export function captionEdit({ to, content }: OutgoingMessage, now = Date.now()): proto.IMessage | undefined {
  if (content.type !== 'edit' || !content.caption) return undefined;
  return {
    protocolMessage: {
      key: { remoteJid: to, id: content.messageId, fromMe: true },
      type: proto.Message.ProtocolMessage.Type.MESSAGE_EDIT,
      editedMessage: { [`${content.caption}Message`]: { caption: content.body } },
      timestampMs: now,
    },
  };
}

export function vcard(name: string, phone?: string): string {
  const escaped = name.replace(/[\\;,]/g, (c) => `\\${c}`).replace(/\n/g, ' ');
  const lines = ['BEGIN:VCARD', 'VERSION:3.0', `FN:${escaped}`];
  if (phone) {
    const digits = phone.replace(/\D/g, '');
    lines.push(`TEL;type=CELL;type=VOICE;waid=${digits}:+${digits}`);
  }
  lines.push('END:VCARD');
  return lines.join('\n');
}
