import { setTimeout as sleep } from 'node:timers/promises';
import { getMessage, type PendingMessage } from '../db/messages.js';
import { mediaKindProblem, unhandled, type MediaRef } from '../domain/content.js';
import { detectMimetype } from '../media/store.js';
import { FetchRefused, safeFetch } from '../media/safeFetch.js';
import type { Slots } from './lookAhead.js';
import type { Media, OutgoingContent, OutgoingMessage, PreparedMessage, WhatsAppSession } from '../whatsapp/session.js';
import { PermanentSendError } from './permanentSendError.js';
import type { OutboxDeps } from './outbox.js';

const MEDIA_FETCH_ATTEMPTS = 3;
const MEDIA_RETRY_DELAY_MS = 2_000;

/** A message prepared ahead: its content, and what the session made of it (a media message's upload). */
export interface Ready {
  message: OutgoingMessage;
  prepared?: PreparedMessage;
}

/**
 * Resolves a stored content into what the session sends: its media read or
 * fetched (and checked), a reaction's, a delete's or an edit's target looked up.
 */
export function createContentResolver(deps: Pick<OutboxDeps, 'db' | 'media' | 'maxMediaBytes' | 'allowPrivateMediaUrls'>) {
  const { db } = deps;

  async function resolveMedia(instanceId: string, type: string, ref: MediaRef): Promise<Media> {
    const media = await loadMedia(instanceId, ref);
    // A URL's bytes are first seen here; a stored file was checked when the send was accepted.
    const problem = mediaKindProblem(type, media.mimetype);
    if (problem) throw new PermanentSendError(`media ${'url' in ref ? ref.url : ref.stored}: ${problem}`);
    return media;
  }

  async function loadMedia(instanceId: string, ref: MediaRef): Promise<Media> {
    if ('stored' in ref) {
      const file = await deps.media.read(instanceId, ref.stored);
      if (!file) throw new PermanentSendError(`media file ${ref.stored} no longer exists`);
      return file;
    }
    // A media host that is down or slow gets a few more tries, then the message fails:
    // the instance's later messages must not wait behind it for long.
    for (let attempt = 1; ; attempt++) {
      try {
        const fetched = await safeFetch(ref.url, { maxBytes: deps.maxMediaBytes, allowPrivate: deps.allowPrivateMediaUrls });
        return { bytes: fetched.bytes, mimetype: await detectMimetype(fetched.bytes, fetched.contentType?.split(';')[0]) };
      } catch (err) {
        if (!(err instanceof FetchRefused)) throw err;
        if (!err.transient || attempt >= MEDIA_FETCH_ATTEMPTS) throw new PermanentSendError(`media ${ref.url}: ${err.message}`);
        await sleep(MEDIA_RETRY_DELAY_MS * attempt);
      }
    }
  }

  /** The content as the session sends it: media in bytes, and whether a reaction's or a delete's target is ours. */
  async function resolveContent(row: PendingMessage): Promise<OutgoingContent> {
    const content = row.content;
    switch (content.type) {
      case 'image':
      case 'video':
      case 'sticker':
      case 'document':
      case 'audio':
      case 'voice':
      case 'status_image':
      case 'status_video':
        return { ...content, media: await resolveMedia(row.instance_id, content.type, content.media) };
      case 'reaction':
      case 'delete': {
        const target = await getMessage(db, row.instance_id, content.messageId);
        return { ...content, fromMe: target ? target.from_me : true };
      }
      case 'edit': {
        // The API accepted it for a text or a media message's caption of the account's own.
        const target = await getMessage(db, row.instance_id, content.messageId);
        const type = target?.type;
        return type === 'image' || type === 'video' || type === 'document' ? { ...content, caption: type } : content;
      }
      case 'text':
      case 'location':
      case 'contact':
      case 'poll':
      case 'status_text':
        return content;
      default:
        return unhandled(content);
    }
  }

  /** What the look-ahead makes of a pending message ahead of its turn: its content, and for media its upload. */
  async function prepareRow(session: WhatsAppSession, mediaSlots: Slots, row: PendingMessage): Promise<Ready> {
    const content = row.content;
    if (!('media' in content)) return { message: { id: row.id, to: row.chat_id, content: await resolveContent(row) } };
    // A few media files at a time, each held in memory until it is uploaded.
    return mediaSlots.run(async () => {
      const message: OutgoingMessage = { id: row.id, to: row.chat_id, content: await resolveContent(row) };
      return { message, prepared: session.prepare ? await session.prepare(message) : undefined };
    });
  }

  return { prepareRow };
}
