/**
 * A message's content as stored with the message (`messages.content`) between
 * the API accepting it and a worker sending it. Media is a reference: a URL to
 * fetch at send time, or a file in the instance's media storage.
 */
import { randomBytes } from 'node:crypto';

/** WhatsApp-style message ids (like the ones Baileys generates), chosen before a message is stored. */
export const newMessageId = () => `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;

export type MediaRef = { url: string } | { stored: string };

export type StoredContent =
  | { type: 'text'; body: string }
  | { type: 'image' | 'video' | 'sticker'; media: MediaRef; caption?: string }
  | { type: 'document'; media: MediaRef; filename: string; caption?: string }
  | { type: 'audio' | 'voice'; media: MediaRef }
  | { type: 'location'; lat: number; lng: number; name?: string; address?: string }
  | { type: 'contact'; name: string; phone?: string }
  | { type: 'poll'; name: string; values: string[]; selectableCount: number }
  | { type: 'reaction'; messageId: string; emoji: string }
  | { type: 'delete'; messageId: string };

/** The gateway's message type names (`messages.type`, webhook `type`). */
export function messageType(content: StoredContent): string {
  return content.type === 'text' ? 'chat' : content.type;
}

/** The text stored as a message's body (what history and webhooks show). */
export function bodyOf(content: StoredContent): string | null {
  switch (content.type) {
    case 'text':
      return content.body;
    case 'image':
    case 'video':
    case 'document':
      return content.caption ?? null;
    case 'location':
      return content.name ?? `${content.lat},${content.lng}`;
    case 'contact':
      return content.name;
    case 'poll':
      return content.name;
    case 'reaction':
      return content.emoji;
    default:
      return null;
  }
}

/** What campaigns and scheduled messages send: a text, an image or a document. */
export interface MessageTemplate {
  messageType: 'text' | 'image' | 'document';
  /** The text, or the media's caption; `{name}` and `{phone}` are replaced per recipient. */
  body?: string;
  media?: MediaRef;
  filename?: string;
}

/** The template's content for one recipient. */
export function contentFor(template: MessageTemplate, recipient: { name?: string | null; phone: string }): StoredContent {
  const text = template.body?.replaceAll('{name}', recipient.name ?? '').replaceAll('{phone}', recipient.phone);
  switch (template.messageType) {
    case 'text':
      return { type: 'text', body: text ?? '' };
    case 'image':
      return { type: 'image', media: template.media!, ...(text ? { caption: text } : {}) };
    case 'document':
      return { type: 'document', media: template.media!, filename: template.filename ?? 'document', ...(text ? { caption: text } : {}) };
  }
}

const KINDS: Record<string, { pattern: RegExp; name: string }> = {
  image: { pattern: /^image\//, name: 'an image' },
  video: { pattern: /^video\//, name: 'a video' },
  // An Ogg file is audio (Opus, Vorbis) more often than not.
  audio: { pattern: /^(audio\/|application\/ogg$)/, name: 'audio' },
  voice: { pattern: /^(audio\/|application\/ogg$)/, name: 'audio' },
  sticker: { pattern: /^image\/webp$/, name: 'a WebP image' },
};

/**
 * Why media of `mimetype` (as its bytes say) cannot go as a message of
 * `type` (image, video, audio, voice, sticker; a document takes anything),
 * or undefined when it can.
 */
export function mediaKindProblem(type: string, mimetype: string): string | undefined {
  const kind = KINDS[type];
  if (!kind || kind.pattern.test(mimetype)) return undefined;
  return `the file is ${mimetype}, not ${kind.name}`;
}
