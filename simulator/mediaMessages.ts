/**
 * Media in messages, both ways, with WhatsApp's media encryption: a 32-byte
 * media key expanded by HKDF into iv, AES-256-CBC key and HMAC key; the file
 * is ciphertext ‖ first 10 bytes of HMAC-SHA256(iv ‖ ciphertext).
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { extractMessageContent, getMediaKeys, proto, type MediaType } from '@whiskeysockets/baileys';
import { sendFromPhone } from './messages.js';
import type { Simulator } from './simulator.js';

/** The media a simulated phone got in a message, decrypted and checked. */
export interface ReceivedMedia {
  bytes: Buffer;
  mimetype: string;
  fileName?: string;
  caption?: string;
  ptt?: boolean;
}

export type MediaKind = 'image' | 'video' | 'audio' | 'voice' | 'document' | 'sticker';

export interface OutgoingMedia {
  kind: MediaKind;
  bytes: Buffer;
  mimetype: string;
  fileName?: string;
  caption?: string;
  /** Duration of audio, voice or video. */
  seconds?: number;
}

/** The message fields that carry media, and the HKDF key type of each. */
const MEDIA_FIELDS = {
  imageMessage: 'image',
  videoMessage: 'video',
  audioMessage: 'audio',
  documentMessage: 'document',
  stickerMessage: 'sticker',
} as const satisfies Record<string, MediaType>;

type MediaField = keyof typeof MEDIA_FIELDS;

interface MediaFields {
  url?: string | null;
  directPath?: string | null;
  mediaKey?: Uint8Array | null;
  fileSha256?: Uint8Array | null;
  fileEncSha256?: Uint8Array | null;
  mimetype?: string | null;
  fileName?: string | null;
  caption?: string | null;
  ptt?: boolean | null;
}

export async function encryptMedia(bytes: Buffer, mediaType: MediaType) {
  const mediaKey = randomBytes(32);
  const { iv, cipherKey, macKey } = await getMediaKeys(mediaKey, mediaType);
  const cipher = createCipheriv('aes-256-cbc', cipherKey, iv);
  const ciphertext = Buffer.concat([cipher.update(bytes), cipher.final()]);
  const mac = createHmac('sha256', macKey!).update(iv).update(ciphertext).digest().subarray(0, 10);
  const encrypted = Buffer.concat([ciphertext, mac]);
  return {
    mediaKey,
    encrypted,
    fileSha256: createHash('sha256').update(bytes).digest(),
    fileEncSha256: createHash('sha256').update(encrypted).digest(),
  };
}

/** Decrypts a downloaded file, checking its sha256s and MAC as a phone does. */
export async function decryptMedia(encrypted: Buffer, fields: MediaFields, mediaType: MediaType): Promise<Buffer> {
  if (!fields.mediaKey) throw new Error('the message has no mediaKey');
  if (fields.fileEncSha256 && !sameBytes(sha256(encrypted), fields.fileEncSha256)) throw new Error('fileEncSha256 mismatch');
  // getMediaKeys always derives macKey (its type marks it optional).
  const { iv, cipherKey, macKey } = await getMediaKeys(fields.mediaKey, mediaType);
  const ciphertext = encrypted.subarray(0, -10);
  const mac = createHmac('sha256', macKey!).update(iv).update(ciphertext).digest().subarray(0, 10);
  if (!sameBytes(mac, encrypted.subarray(-10))) throw new Error('media MAC mismatch');
  const decipher = createDecipheriv('aes-256-cbc', cipherKey, iv);
  const bytes = Buffer.concat([decipher.update(ciphertext), decipher.final()]);
  if (fields.fileSha256 && !sameBytes(sha256(bytes), fields.fileSha256)) throw new Error('fileSha256 mismatch');
  return bytes;
}

/** The media part of a message (unwrapping ephemeral, view-once, document-with-caption...). */
export function mediaOf(message: proto.IMessage): { field: MediaField; fields: MediaFields } | undefined {
  const content = extractMessageContent(message) ?? message;
  for (const field of Object.keys(MEDIA_FIELDS) as MediaField[]) {
    const fields = content[field] as MediaFields | null | undefined;
    if (fields) return { field, fields };
  }
  return undefined;
}

/**
 * What the recipient's phone does with a media message from a device:
 * fetches the encrypted file from the simulator's media host by the message's
 * url/directPath, then decrypts and checks it.
 */
export async function receiveMedia(sim: Simulator, message: proto.IMessage): Promise<ReceivedMedia | undefined> {
  const media = mediaOf(message);
  if (!media) return undefined;
  const { field, fields } = media;
  const encrypted = sim.media.get(fields);
  if (!encrypted) throw new Error(`media not on the simulator's media host: ${fields.url ?? fields.directPath}`);
  const bytes = await decryptMedia(encrypted, fields, MEDIA_FIELDS[field]);
  return {
    bytes,
    mimetype: fields.mimetype ?? '',
    ...(fields.fileName ? { fileName: fields.fileName } : {}),
    ...(fields.caption ? { caption: fields.caption } : {}),
    ...(field === 'audioMessage' ? { ptt: !!fields.ptt } : {}),
  };
}

/**
 * A simulated contact sends media to every device of `to`: the bytes are
 * encrypted with a fresh media key and hosted on the media host, and the
 * message points there. Returns the message id and the message sent.
 */
export async function sendMedia(
  sim: Simulator,
  from: string,
  to: string,
  media: OutgoingMedia,
): Promise<{ id: string; message: proto.IMessage }> {
  const message = await mediaMessage(sim, media);
  const id = await sendFromPhone(sim, sim.user(from), sim.user(to), message);
  return { id, message };
}

/** A media message as a phone makes one: the file encrypted and put on the media host, the message pointing at it. */
export async function mediaMessage(sim: Simulator, media: OutgoingMedia): Promise<proto.IMessage> {
  const mediaType: MediaType = media.kind === 'voice' ? 'audio' : media.kind;
  const { mediaKey, encrypted, fileSha256, fileEncSha256 } = await encryptMedia(media.bytes, mediaType);
  const { url, directPath } = sim.media.put(encrypted);
  const common = {
    url,
    directPath,
    mediaKey,
    fileSha256,
    fileEncSha256,
    fileLength: media.bytes.length,
    mimetype: media.mimetype,
    mediaKeyTimestamp: Math.floor(Date.now() / 1000),
  };
  const caption = media.caption ? { caption: media.caption } : {};
  const seconds = media.seconds !== undefined ? { seconds: media.seconds } : {};
  return (() => {
    switch (media.kind) {
      case 'image':
        return { imageMessage: { ...common, ...caption } };
      case 'video':
        return { videoMessage: { ...common, ...caption, ...seconds } };
      case 'sticker':
        return { stickerMessage: common };
      case 'audio':
      case 'voice':
        return { audioMessage: { ...common, ...seconds, ptt: media.kind === 'voice' } };
      case 'document': {
        const fileName = media.fileName ?? 'file';
        return { documentMessage: { ...common, ...caption, fileName, title: fileName } };
      }
    }
  })();
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest();
const sameBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && timingSafeEqual(a, b);
