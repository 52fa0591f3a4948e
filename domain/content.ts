/**
 * A message's content: one definition for every send type, from the API
 * accepting it to the session sending it. It is generic over how media (and
 * the message a reaction or a delete points at) is referenced: stored with
 * the message (`messages.content`) media is a reference, a URL to fetch at
 * send time or a file in the instance's media storage (`StoredContent`); when
 * sent, media is its bytes and the target message is known to be ours or not
 * (`OutgoingContent`, what whatsapp/session.ts sends). Every switch over a
 * content's type ends in `unhandled(content)`, so the compiler names each
 * place a new type must be handled.
 */
import { randomBytes } from 'node:crypto';

/** WhatsApp-style message ids (like the ones Baileys generates), chosen before a message is stored. */
export const newMessageId = () => `3EB0${randomBytes(9).toString('hex').toUpperCase()}`;

/** Media as stored with a message: a URL fetched when it is sent, or a file of the instance's media storage. */
export type MediaRef = { url: string } | { stored: string };

/** Media as sent: its bytes and their type. */
export interface Media {
  bytes: Buffer;
  mimetype: string;
}

/** How a content refers to what lies outside it: its media, and the message a reaction or a delete is about. */
export interface References {
  media: unknown;
  /** What is known of the target message besides its id. */
  target: object;
  /** What is known of an edited message besides its id. */
  edited: object;
}
/** As stored: media by reference, the target by its id alone. */
export interface Stored extends References {
  media: MediaRef;
  target: {};
  edited: {};
}
/** As sent: media in bytes, and whether the target message is the account's own. */
export interface Resolved extends References {
  media: Media;
  target: { fromMe: boolean };
  /** `caption`: the edit is of a media message's caption (of that kind); otherwise of a text. */
  edited: { caption?: 'image' | 'video' | 'document' };
}

export type MessageContent<R extends References = Stored> =
  | { type: 'text'; body: string }
  | { type: 'image' | 'video' | 'sticker'; media: R['media']; caption?: string }
  | { type: 'document'; media: R['media']; filename: string; caption?: string }
  | { type: 'audio' | 'voice'; media: R['media'] }
  | { type: 'location'; lat: number; lng: number; name?: string; address?: string }
  | { type: 'contact'; name: string; phone?: string }
  /** `secret`: the poll's key (base64 of 32 bytes), chosen when it is accepted, with which voters encrypt their votes. */
  | { type: 'poll'; name: string; values: string[]; selectableCount: number; secret?: string }
  | ({ type: 'reaction'; messageId: string; emoji: string } & R['target'])
  | ({ type: 'delete'; messageId: string } & R['target'])
  | ({ type: 'edit'; messageId: string; body: string } & R['edited'])
  /** A status (story): a text on a colour, or an image or a video, for `audience` (user JIDs). */
  | { type: 'status_text'; body: string; backgroundColor?: string; font?: number; audience: string[] }
  | { type: 'status_image' | 'status_video'; media: R['media']; caption?: string; audience: string[] };

/** A message's content as stored with it, between the API accepting it and a worker sending it. */
export type StoredContent = MessageContent<Stored>;
/** A message's content as the session sends it. */
export type OutgoingContent = MessageContent<Resolved>;
/** Every type of content: the send endpoints' names but `chat`, which is `text`. */
export type ContentType = MessageContent['type'];
/** The contents that carry media. */
export type MediaContent<R extends References = Stored> = Extract<MessageContent<R>, { media: unknown }>;

/** The end of a switch that handled every type of content: a type left out is a compile error here. */
export function unhandled(content: never): never {
  throw new Error(`unhandled content type ${(content as { type?: unknown }).type}`);
}

/** The gateway's message type names (`messages.type`, webhook `type`). */
export function messageType(content: MessageContent<References>): string {
  switch (content.type) {
    case 'text':
    case 'status_text':
      return 'chat';
    case 'status_image':
      return 'image';
    case 'status_video':
      return 'video';
    default:
      return content.type;
  }
}

/** The text stored as a message's body (what history and webhooks show). */
export function bodyOf(content: MessageContent<References>): string | null {
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
    case 'edit':
    case 'status_text':
      return content.body;
    case 'status_image':
    case 'status_video':
      return content.caption ?? null;
    case 'sticker':
    case 'audio':
    case 'voice':
    case 'delete':
      return null;
    default:
      return unhandled(content);
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

const KINDS: Record<Exclude<MediaContent['type'], 'document' | 'status_image' | 'status_video'>, { pattern: RegExp; name: string }> = {
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
  // A status's image or video is checked as an image or a video.
  const kind = KINDS[type.replace(/^status_/, '') as keyof typeof KINDS] as (typeof KINDS)[keyof typeof KINDS] | undefined;
  if (!kind || kind.pattern.test(mimetype)) return undefined;
  return `the file is ${mimetype}, not ${kind.name}`;
}
