/**
 * The thirteen send endpoints (`POST .../messages/{type}`). Each validates its
 * body, records the message as pending with its WhatsApp id chosen up front,
 * wakes the instance's outbox, and waits a bounded time for it to go out.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Router, type Request } from 'express';
import { z } from 'zod';
import type { Client } from '@temporalio/client';
import type { Config } from '../config/index.js';
import type { Db } from '../db/knex.js';
import { getMessage } from '../db/messages.js';
import { insertOutgoing, outgoing, type StoredOutgoing } from '../db/outgoing.js';
import type { MessageStatus } from '../whatsapp/session.js';
import {
  mediaKindProblem,
  newMessageId,
  type MediaContent,
  type MediaRef,
  type MessageTemplate,
  type StoredContent,
} from '../domain/content.js';
import { BadRequest, HttpError, PayloadTooLarge } from '../lib/errors.js';
import type { ErrorCode } from '../lib/errorCodes.js';
import { isChannelJid } from '../domain/recipients.js';
import { detectMimetype, type MediaStore } from '../media/store.js';
import { wakeOutboxSoon } from '../temporal/starts.js';
import { drainActive } from '../db/outbox.js';
import { isPrivateAddress } from '../media/safeFetch.js';
import { taskQueues } from '../workflows/names.js';
import { sendsAccepted } from '../lib/metrics.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { byPerson, jid, recipient, typingMs } from './schemas.js';
import { checkChannel, checkTarget } from './sendTargets.js';
import type { SendWaiter } from './sendWaiter.js';

export interface SendDeps {
  config: Config;
  db: Db;
  temporal: Client;
  media: MediaStore;
  waiter: SendWaiter;
}

// Type errors keep zod's wording: route() turns "received undefined" into "<field> is required"
// and prefixes the rest with the field, so `body: 5` is not reported as missing.
const text = (field: string, max = 65_536) => z.string().min(1, `${field} must not be empty`).max(max);
const optionalText = (max = 4_096) => z.string().max(max).optional();
const source = (field: string) => z.string().min(1, `${field} must not be empty`);

/** Content whose media is still the source the request gave (a URL, a data URI, an uploaded file's url). */
type WithoutMedia<C> = C extends unknown ? Omit<C, 'media'> : never;
/** What a valid send request becomes: its recipient and its content, with the media's source and field if it has media. */
export type SendRequest = { to: string; typingMs?: number; byPerson?: boolean } & (
  { content: Exclude<StoredContent, MediaContent> } | { content: WithoutMedia<MediaContent>; source: string; field: string }
);

/** Who a send is to, its typing, and whether a person wrote it (every endpoint's fields but a reaction's and a delete's). */
const sender = { to: recipient(), typingMs: typingMs(), byPerson: byPerson() };
const senderOf = (b: { to: string; typingMs?: number; byPerson?: boolean }) => ({ to: b.to, typingMs: b.typingMs, byPerson: b.byPerson });

/** Per endpoint: the body schema and how a valid body becomes a SendRequest. */
const endpoints: Record<string, z.ZodType<SendRequest>> = {
  chat: z
    .object({ ...sender, body: text('body') })
    .transform((b): SendRequest => ({ ...senderOf(b), content: { type: 'text', body: b.body } })),
  image: z.object({ ...sender, image: source('image'), caption: optionalText() }).transform((b): SendRequest => ({
    ...senderOf(b),
    source: b.image,
    field: 'image',
    content: { type: 'image', caption: b.caption },
  })),
  video: z.object({ ...sender, video: source('video'), caption: optionalText() }).transform((b): SendRequest => ({
    ...senderOf(b),
    source: b.video,
    field: 'video',
    content: { type: 'video', caption: b.caption },
  })),
  document: z
    .object({
      ...sender,
      document: source('document'),
      filename: z.string().min(1).max(255).optional(),
      caption: optionalText(),
    })
    .transform((b): SendRequest => ({
      ...senderOf(b),
      source: b.document,
      field: 'document',
      content: { type: 'document', filename: b.filename ?? 'document', caption: b.caption },
    })),
  audio: z
    .object({ ...sender, audio: source('audio') })
    .transform((b): SendRequest => ({ ...senderOf(b), source: b.audio, field: 'audio', content: { type: 'audio' } })),
  voice: z
    .object({ ...sender, audio: source('audio') })
    .transform((b): SendRequest => ({ ...senderOf(b), source: b.audio, field: 'audio', content: { type: 'voice' } })),
  sticker: z
    .object({ ...sender, sticker: source('sticker') })
    .transform((b): SendRequest => ({ ...senderOf(b), source: b.sticker, field: 'sticker', content: { type: 'sticker' } })),
  location: z
    .object({
      ...sender,
      lat: z.number().min(-90).max(90),
      lng: z.number().min(-180).max(180),
      name: optionalText(),
      address: optionalText(),
    })
    .transform((b): SendRequest => ({
      ...senderOf(b),
      content: { type: 'location', lat: b.lat, lng: b.lng, name: b.name, address: b.address },
    })),
  contact: z
    .object({
      ...sender,
      contact_name: z.string().min(1).max(256).optional(),
      contact_phone: z
        .string()
        .regex(/^\+?[\d\s()-]{5,20}$/, 'must be a phone number')
        .optional(),
    })
    .transform((b): SendRequest => ({
      ...senderOf(b),
      content: { type: 'contact', name: b.contact_name ?? 'Contact', phone: b.contact_phone },
    })),
  poll: z
    .object({
      ...sender,
      name: text('name', 255),
      values: z.array(z.string().min(1).max(100)).min(2, 'values needs 2 to 12 options').max(12, 'values needs 2 to 12 options'),
      selectableCount: z.union([z.literal(0), z.literal(1)], { error: 'selectableCount must be 0 (multiple) or 1 (single)' }).optional(),
    })
    .refine((b) => new Set(b.values).size === b.values.length, { message: 'values must be distinct', path: ['values'] })
    .transform((b): SendRequest => ({
      ...senderOf(b),
      content: { type: 'poll', name: b.name, values: b.values, selectableCount: b.selectableCount ?? 0 },
    })),
  reaction: z
    .object({ to: jid(), byPerson: byPerson(), msgId: text('msgId', 128), emoji: z.string().max(32) })
    .transform((b): SendRequest => ({ to: b.to, byPerson: b.byPerson, content: { type: 'reaction', messageId: b.msgId, emoji: b.emoji } })),
  delete: z
    .object({ to: jid(), byPerson: byPerson(), msgId: text('msgId', 128) })
    .transform((b): SendRequest => ({ to: b.to, byPerson: b.byPerson, content: { type: 'delete', messageId: b.msgId } })),
  edit: z
    .object({ to: jid(), byPerson: byPerson(), msgId: text('msgId', 128), body: text('body') })
    .transform((b): SendRequest => ({ to: b.to, byPerson: b.byPerson, content: { type: 'edit', messageId: b.msgId, body: b.body } })),
};

const DATA_URI = /^data:([\w.+-]+\/[\w.+-]+)?((?:;[\w-]+=[\w.-]+)*)(;base64)?,(.*)$/s;

/**
 * A media source as given (URL, data URI, uploaded file URL) as a reference
 * the worker can resolve. With the message `type` it is for, a data URI or an
 * uploaded file whose bytes are not of that kind is refused (a URL's bytes are
 * first seen by the worker, which refuses them the same way).
 */
export async function mediaRef(
  deps: Pick<SendDeps, 'config' | 'media'>,
  instanceId: string,
  field: string,
  value: string,
  type?: string,
): Promise<MediaRef> {
  const refuseKind = (mimetype: string) => {
    const problem = type && mediaKindProblem(type, mimetype);
    if (problem) throw new BadRequest(`${field}: ${problem}`, 'MEDIA_KIND');
  };
  const dataUri = value.match(DATA_URI);
  if (dataUri) {
    const [, mimetype, , base64, payload] = dataUri;
    if (!base64) throw new BadRequest(`${field}: data URIs must be base64-encoded`);
    const clean = payload!.replace(/\s/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(clean) || clean.length % 4 !== 0) throw new BadRequest(`${field}: the data URI is not valid base64`);
    const bytes = Buffer.from(clean, 'base64');
    if (bytes.length === 0) throw new BadRequest(`${field}: the data URI is empty`);
    if (bytes.length > deps.config.MAX_MEDIA_BYTES)
      throw new PayloadTooLarge(`${field} is larger than ${deps.config.MAX_MEDIA_BYTES} bytes`);
    // Checked before it is stored: a refused file is never written.
    refuseKind(await detectMimetype(bytes, mimetype));
    const stored = await deps.media.save(instanceId, bytes, { mimetype });
    return { stored: stored.filename };
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new BadRequest(`${field} must be an http(s) URL, a base64 data URI or an uploaded file's url`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new BadRequest(`${field} must be an http(s) URL, a base64 data URI or an uploaded file's url`);
  const ownMedia = `${deps.config.PUBLIC_URL}/media/`;
  if (value.startsWith(ownMedia)) {
    const [owner, filename] = value.slice(ownMedia.length).split('/').map(decodeURIComponent);
    const file = owner === instanceId && filename ? await deps.media.read(instanceId, filename) : undefined;
    if (!file) throw new BadRequest(`${field}: no uploaded file of this instance at that url`);
    refuseKind(file.mimetype);
    return { stored: filename! };
  }
  // `localhost.` (a fully qualified name) is still localhost.
  const host = url.hostname.replace(/^\[|\]$/g, '').replace(/\.$/, '');
  if (
    !deps.config.MEDIA_ALLOW_PRIVATE_URLS &&
    (host === 'localhost' || host.endsWith('.localhost') || (/^[\d.]+$|:/.test(host) && isPrivateAddress(host)))
  ) {
    throw new BadRequest(`${field}: URLs on private, loopback or link-local addresses are not allowed`);
  }
  return { url: value };
}

/** What a campaign or a scheduled message sends, its media source (if any) taken as a reference the worker can resolve. */
export async function messageTemplate(
  deps: Pick<SendDeps, 'config' | 'media'>,
  instanceId: string,
  fields: { messageType: MessageTemplate['messageType']; text?: string; filename?: string; mediaUrl?: string },
): Promise<MessageTemplate> {
  return {
    messageType: fields.messageType,
    body: fields.text,
    filename: fields.filename,
    media: fields.mediaUrl ? await mediaRef(deps, instanceId, 'mediaUrl', fields.mediaUrl, fields.messageType) : undefined,
  };
}

export function sendRouter(deps: SendDeps): Router {
  const router = Router({ mergeParams: true });
  for (const [name, schema] of Object.entries(endpoints)) router.post(`/${name}`, sendHandler(deps, name, schema));
  return router;
}

/**
 * The handler of one send endpoint: `name` names it (in the metrics and the
 * request's fingerprint) and `schema` turns a valid body into a SendRequest.
 * The status routes (api/status.ts) send through it too.
 */
export function sendHandler(deps: SendDeps, name: string, schema: z.ZodType<SendRequest>) {
  const queues = taskQueues(deps.config.TASK_QUEUE);
  return route({ body: schema }, async ({ body }, req, res) => {
    const instance = instanceOf(res);
    const idempotencyKey = idempotencyKeyOf(req);
    const fingerprint = idempotencyKey ? requestFingerprint(name, body) : undefined;
    if (body.content.type === 'reaction' || body.content.type === 'delete' || body.content.type === 'edit') {
      await checkTarget(deps.db, instance, body.to, body.content);
    }
    if (isChannelJid(body.to)) await checkChannel(deps.db, instance, body.to);
    const content: StoredContent =
      'source' in body
        ? { ...body.content, media: await mediaRef(deps, instance.id, body.field, body.source, body.content.type) }
        : body.content.type === 'poll'
          ? // Its key, chosen once (after the request's fingerprint): votes on it are encrypted with it.
            { ...body.content, secret: randomBytes(32).toString('base64') }
          : body.content;
    // A file stored from this request's data URI goes again if no message of this request keeps it.
    const storedHere =
      'source' in body && body.source.startsWith('data:') && 'media' in content && 'stored' in content.media
        ? content.media.stored
        : undefined;
    const dropStored = () =>
      storedHere && deps.media.remove(instance.id, storedHere).catch((err) => req.log?.warn({ err }, 'removing unused media failed'));
    const id = newMessageId();
    // Listening before the insert: the drain may send the message before this request reads anything back.
    const expected = deps.waiter.expect(instance.id, id);
    let status: MessageStatus | undefined;
    let row: StoredOutgoing;
    try {
      const inserted = await insertOutgoing(
        deps.db,
        outgoing(instance, {
          instanceId: instance.id,
          id,
          chatId: body.to,
          content,
          idempotencyKey,
          requestFingerprint: fingerprint,
          // Only a send marked as a person's pauses the chatbot in the chat; the API's are automated by default.
          source: body.byPerson ? 'person' : 'api',
          typingMs: body.typingMs,
        }),
      ).catch(async (err) => {
        await dropStored();
        throw err;
      });
      // The idempotency key was used before: that earlier message is the answer, with its own media.
      if (!inserted.created) await dropStored();
      // ... when this is a retry of the same request; a key reused for another message sends nothing and says so.
      if (!inserted.created && !inserted.sameRequest) {
        throw new HttpError(
          422,
          'IDEMPOTENCY_KEY_REUSED',
          `Idempotency-Key ${idempotencyKey} was used for another request (message ${inserted.row.id}); nothing was sent: use a new key for a new message`,
        );
      }
      row = inserted.row;
      // A running drain heard the insert's NOTIFY; otherwise the outbox workflow is signalled (see db/outbox.ts).
      const draining = inserted.drainActive ?? (await drainActive(deps.db, instance.id));
      // Not awaited: the message is committed and is answered for with its id, whether Temporal answers
      // or not; a failed wake is retried (and swept up by the workers: worker/sweeps.ts).
      const woken =
        row.status === 'pending' && !draining
          ? wakeOutboxSoon(deps.temporal, queues.general, instance.id, (err) =>
              req.log?.warn({ err, instanceId: instance.id }, 'waking the outbox failed (Temporal cannot be reached); retrying'),
            )
          : undefined;
      if (inserted.created && instance.status === 'open') {
        // A wake that failed (at once while Temporal is known to be away) starts no drain before SEND_WAIT_MS
        // is out: the answer is a 202 now rather than then.
        const unwoken = woken?.then((ok) => (ok ? new Promise<undefined>(() => {}) : undefined));
        const heard = expected.wait(deps.config.SEND_WAIT_MS);
        status = await (unwoken ? Promise.race([heard, unwoken]) : heard);
      }
    } finally {
      expected.cancel();
    }
    // Not heard (not waited for, timed out, or an earlier request's message): as stored now.
    status ??= (await getMessage(deps.db, instance.id, row.id))?.status ?? row.status;
    const went = status && status !== 'pending' && status !== 'failed';
    sendsAccepted.inc({ type: name, outcome: status === 'failed' ? 'failed' : went ? 'sent' : 'pending' });
    if (status === 'failed') {
      const failed = await getMessage(deps.db, instance.id, row.id);
      res.status(422);
      return {
        error: failed?.error ?? 'the message could not be sent',
        code: 'SEND_FAILED' satisfies ErrorCode,
        sent: false,
        id: row.id,
        status,
      };
    }
    if (!went) res.status(202);
    if (name === 'delete') return went ? { deleted: true, id: row.id } : { deleted: false, id: row.id, status: 'pending' };
    if (name === 'edit') return went ? { edited: true, id: row.id } : { edited: false, id: row.id, status: 'pending' };
    return went ? { sent: true, id: row.id } : { sent: false, id: row.id, status: 'pending' };
  });
}

/** What a send request asks for, as a hash: its endpoint, recipient, content (media as its source) and typing. */
function requestFingerprint(endpoint: string, body: SendRequest): string {
  const request = [endpoint, body.to, body.typingMs ?? null, body.content, 'source' in body ? body.source : null];
  return createHash('sha256').update(JSON.stringify(request)).digest('hex');
}

function idempotencyKeyOf(req: Request): string | undefined {
  const key = req.get('idempotency-key')?.trim();
  if (key === undefined) return undefined;
  if (!/^[\x21-\x7e]{1,255}$/.test(key)) throw new BadRequest('Idempotency-Key must be 1-255 printable ASCII characters');
  return key;
}
