/** Docs of sending, chats, contacts and media (history: history.ts; groups: groups.ts). */
import type { ResponseDoc, RouteDoc, RouteDocs } from '../openapi.js';
import { I } from './instances.js';
import { CHAT, GROUP, MESSAGE_ID, TO, notConnected, success, whatsappError } from './examples.js';

const FILE = '1764669600000-9f2c4b7e1a3d5c6b8e0f1a2b3c4d5e6f.jpg';

const storageDown: ResponseDoc = {
  description: 'Postgres, or the media bucket (MEDIA_STORE=s3), does not answer',
  example: { error: 'media storage unavailable: ECONNREFUSED', code: 'MEDIA_STORAGE_UNAVAILABLE' },
};

/** What every send answers: on the socket, queued, or impossible. */
const sendResponses = (sent: Record<string, unknown> = { sent: true, id: MESSAGE_ID }): Record<number, ResponseDoc> => ({
  200: { description: 'Sent: the message is on the socket; `id` is its WhatsApp message id', example: sent },
  202: {
    description: 'Queued (not connected, or held back by sendDelay): it goes out once, when it can, with this id',
    example: { ...Object.fromEntries(Object.keys(sent).map((k) => [k, k === 'id' ? MESSAGE_ID : false])), status: 'pending' },
  },
  413: {
    description: 'A data URI larger than MAX_MEDIA_BYTES',
    example: { error: 'image is larger than 67108864 bytes', code: 'PAYLOAD_TOO_LARGE' },
  },
  422: {
    description:
      "Accepted but impossible: the number is not on WhatsApp, the media cannot be fetched or is not of the endpoint's kind (`SEND_FAILED`); or the Idempotency-Key was used for another request (`IDEMPOTENCY_KEY_REUSED`, nothing sent)",
    example: { error: '905551234567 is not on WhatsApp', code: 'SEND_FAILED', sent: false, id: MESSAGE_ID, status: 'failed' },
  },
});

/** Sends that are not messages a person types: no typingMs. */
const TYPING_EXCLUDED = ['react', 'delete', 'edit'];

const MEDIA_SOURCE = 'an http(s) URL, a base64 data URI, or the `url` of a file uploaded to `.../media/upload`';

const send = (summary: string, example: Record<string, unknown>, description?: string, responses = sendResponses()): RouteDoc => ({
  summary,
  description: [
    description,
    'Send an `Idempotency-Key` header to make a retry safe: the same key with the same request answers with the first message; the same key with another request (recipient, content or endpoint) is a 422 `IDEMPOTENCY_KEY_REUSED` and sends nothing.',
    ...(TYPING_EXCLUDED.some((type) => summary.toLowerCase().includes(type))
      ? []
      : [
          '`typingMs` (0-20000) shows the recipient "composing" ("recording" before a voice note) that long first, then "paused", then sends, in the outbox\'s order; it is spent within the instance\'s sendDelay, and a typing longer than SEND_WAIT_MS answers 202.',
        ]),
  ]
    .filter(Boolean)
    .join(' '),
  tag: 'Sending',
  example,
  headers: {
    'Idempotency-Key': {
      description:
        'Makes a retry safe: a key used before with the same request answers with its first message; with another request it is a 422. A key of your own per message, e.g. `order-1042-shipped` (left empty here, so that each try sends)',
    },
  },
  responses,
});

export const messagingDocs: RouteDocs = {
  [`POST ${I}/messages/chat`]: send('Send a text', { to: TO, body: 'Merhaba! Siparişiniz yola çıktı.', typingMs: 1500 }),
  [`POST ${I}/messages/image`]: send(
    'Send an image',
    { to: TO, image: 'https://example.com/photo.jpg', caption: 'Yeni ürünlerimiz' },
    `\`image\`: ${MEDIA_SOURCE}.`,
  ),
  [`POST ${I}/messages/video`]: send(
    'Send a video',
    { to: TO, video: 'https://example.com/clip.mp4', caption: 'Tanıtım' },
    `\`video\`: ${MEDIA_SOURCE}.`,
  ),
  [`POST ${I}/messages/document`]: send(
    'Send a document',
    { to: TO, document: 'https://example.com/invoice.pdf', filename: 'fatura.pdf', caption: 'Faturanız' },
    `\`document\`: ${MEDIA_SOURCE}; any kind of file. \`filename\` defaults to "document".`,
  ),
  [`POST ${I}/messages/audio`]: send(
    'Send audio (a music player)',
    { to: TO, audio: 'https://example.com/song.mp3' },
    `\`audio\`: ${MEDIA_SOURCE}.`,
  ),
  [`POST ${I}/messages/voice`]: send(
    'Send a voice note (push to talk)',
    { to: TO, audio: 'https://example.com/note.ogg' },
    `\`audio\`: ${MEDIA_SOURCE}; OGG Opus plays best.`,
  ),
  [`POST ${I}/messages/sticker`]: send(
    'Send a sticker',
    { to: TO, sticker: 'https://example.com/sticker.webp' },
    `\`sticker\`: ${MEDIA_SOURCE}; WebP.`,
  ),
  [`POST ${I}/messages/location`]: send('Send a location', {
    to: TO,
    lat: 41.0082,
    lng: 28.9784,
    name: 'Mağaza',
    address: 'İstiklal Cd. 1, İstanbul',
  }),
  [`POST ${I}/messages/contact`]: send(
    'Send a contact card (vCard)',
    { to: TO, contact_name: 'Destek Hattı', contact_phone: '+905551112233' },
    '`contact_name` defaults to "Contact".',
  ),
  [`POST ${I}/messages/poll`]: send(
    'Send a poll',
    { to: TO, name: 'Hangi gün uygun?', values: ['Pazartesi', 'Salı', 'Çarşamba'], selectableCount: 1 },
    '`values`: 2 to 12 distinct options; `selectableCount` 0 (several answers, the default) or 1 (one).',
  ),
  [`POST ${I}/messages/reaction`]: send(
    'React to a message',
    { to: TO, msgId: MESSAGE_ID, emoji: '👍' },
    '`to` is the chat of the message `msgId`; an empty `emoji` removes the reaction.',
    {
      ...sendResponses(),
      404: {
        description: 'No such message',
        example: { error: `msgId: no message ${MESSAGE_ID} in this instance`, code: 'MESSAGE_NOT_FOUND' },
      },
    },
  ),
  [`POST ${I}/messages/delete`]: send(
    'Delete a message for everyone',
    { to: TO, msgId: MESSAGE_ID },
    "Your own message, or a member's in a group you administer; anything else is a 400 saying why.",
    {
      ...sendResponses({ deleted: true, id: MESSAGE_ID }),
      404: {
        description: 'No such message',
        example: { error: `msgId: no message ${MESSAGE_ID} in this instance`, code: 'MESSAGE_NOT_FOUND' },
      },
    },
  ),
  [`POST ${I}/messages/edit`]: send(
    'Edit a sent message',
    { to: TO, msgId: MESSAGE_ID, body: 'Merhaba! Siparişiniz yarın yola çıkıyor.' },
    "Your own text, or the caption of your own image, video or document, within 15 minutes of sending it (as WhatsApp allows); `to` is the message's chat. The stored message gets the new text and keeps the old one in `edits`, and a `message_edited` event follows once the edit is sent.",
    {
      ...sendResponses({ edited: true, id: MESSAGE_ID }),
      400: {
        description: "Not editable: another's message, not a text or caption, not sent yet, deleted, or sent more than 15 minutes ago",
        example: {
          error: `msgId: message ${MESSAGE_ID} was sent at 2026-12-06T10:00:00.000Z: WhatsApp lets a message be edited for 15 minutes after it was sent`,
          code: 'NOT_EDITABLE',
        },
      },
      404: {
        description: 'No such message',
        example: { error: `msgId: no message ${MESSAGE_ID} in this instance`, code: 'MESSAGE_NOT_FOUND' },
      },
    },
  ),

  [`GET ${I}/chats`]: {
    summary: 'Chats, most recent first',
    description: '`label` keeps the chats carrying that label (see Labels).',
    parameters: { label: '1' },
    responses: {
      200: {
        description:
          'OK; `botPausedUntil`: until when the chatbot is silent in the chat because a person wrote there (null when it answers); `labels`: the ids of the labels on the chat',
        example: [
          { id: CHAT, name: 'Ahmet', unreadCount: 3, lastMessage: 1764669600, archived: false, botPausedUntil: null, labels: ['1'] },
        ],
      },
    },
  },
  [`GET ${I}/chats/ids`]: { summary: 'Chat ids, most recent first', responses: { 200: { description: 'OK', example: [CHAT, GROUP] } } },
  ...Object.fromEntries(
    (
      [
        ['archive', 'Archive a chat'],
        ['unarchive', 'Unarchive a chat'],
        ['delete', 'Delete a chat'],
      ] as const
    ).map(([action, summary]) => [
      `POST ${I}/chats/${action}`,
      {
        summary,
        description: 'On every device of the account.',
        example: { chatId: TO },
        responses: { 200: success, 409: notConnected, 502: whatsappError },
      } satisfies RouteDoc,
    ]),
  ),

  [`POST ${I}/chats/read`]: {
    summary: 'Mark messages read',
    description:
      "Sends read receipts (blue ticks) for the contact's messages: `messageIds`, or the chat's latest 50 (then the chat's unread count is reset). On every device of the account.",
    example: { chatId: TO },
    responses: {
      200: success,
      400: {
        description: 'One of messageIds is your own message',
        example: { error: `messageIds: message ${MESSAGE_ID} is your own; only received messages are marked read` },
      },
      404: {
        description: 'One of messageIds is not a message of that chat',
        example: { error: `messageIds: no message ${MESSAGE_ID} in chat ${CHAT}`, code: 'MESSAGE_NOT_FOUND' },
      },
      409: notConnected,
      502: whatsappError,
    },
  },
  [`POST ${I}/presence`]: {
    summary: 'Show typing, recording or online status',
    description:
      "`composing` (typing), `recording` (a voice note) and `paused` are shown in the chat `to`; `available` and `unavailable` are the account's online status, for every chat (`to` is not needed). A send can show typing by itself first: its `typingMs` option.",
    tag: 'Chats',
    example: { to: TO, state: 'composing' },
    responses: {
      200: { description: 'Sent to WhatsApp', example: { success: true, state: 'composing', to: CHAT } },
      400: {
        description: 'An unknown state, or a chat state without `to`',
        example: { error: 'to is required: composing is shown in one chat' },
      },
      409: notConnected,
      502: whatsappError,
    },
  },
  [`GET ${I}/contacts`]: {
    summary: 'Contacts',
    description: '`name` is the saved name, else the push name; `notify` the push name.',
    responses: { 200: { description: 'OK', example: [{ id: CHAT, name: 'Ahmet Yılmaz', notify: 'Ahmet' }] } },
  },
  [`GET ${I}/contacts/ids`]: { summary: 'Contact ids', responses: { 200: { description: 'OK', example: [CHAT] } } },
  [`GET ${I}/contacts/contact`]: {
    summary: 'One contact',
    parameters: { chatId: TO },
    responses: {
      200: { description: 'OK', example: { id: CHAT, name: 'Ahmet Yılmaz', notify: 'Ahmet' } },
      404: { description: 'No such contact', example: { error: `no contact ${CHAT}`, code: 'CONTACT_NOT_FOUND' } },
    },
  },
  [`GET ${I}/contacts/check`]: {
    summary: 'Whether a number is on WhatsApp',
    parameters: { chatId: TO },
    responses: { 200: { description: 'OK', example: { exists: true, jid: CHAT } }, 409: notConnected, 502: whatsappError },
  },
  [`GET ${I}/contacts/image`]: {
    summary: 'Profile picture URL',
    description: '`url` is null when the contact has none or hides it.',
    parameters: { chatId: TO },
    responses: {
      200: { description: 'OK', example: { url: 'https://pps.whatsapp.net/v/t61.24694-24/...' } },
      409: notConnected,
      502: whatsappError,
    },
  },
  ...Object.fromEntries(
    (['block', 'unblock'] as const).map((action) => [
      `POST ${I}/contacts/${action}`,
      {
        summary: action === 'block' ? 'Block a contact' : 'Unblock a contact',
        example: { chatId: TO },
        responses: { 200: success, 409: notConnected, 502: whatsappError },
      } satisfies RouteDoc,
    ]),
  ),

  [`GET ${I}/calls`]: {
    summary: 'Recent incoming calls',
    description:
      "Newest first. `status`: `offered` (ringing, or not answered here), `rejected` (declined: by `rejectCalls` or on another device), `missed` (the caller hung up), `accepted-elsewhere` (answered on another device). Each change is also a `call` webhook event. `fromLid`: the caller's LID beside its number `from`, when WhatsApp named the caller by it. Page back with `before` = the last `timestamp`.",
    parameters: { limit: 50 },
    responses: {
      200: {
        description: 'OK',
        example: {
          calls: [
            {
              id: 'A1B2C3D4E5F60718293A4B5C6D7E8F90',
              from: '905551234567@s.whatsapp.net',
              video: false,
              group: false,
              status: 'rejected',
              timestamp: 1764669600,
            },
          ],
        },
      },
    },
  },

  [`POST ${I}/media/upload`]: {
    summary: 'Upload a file',
    description: 'Its `url` can be given as the media of a send. At most MAX_MEDIA_BYTES (64 MB).',
    requestBody: {
      contentType: 'multipart/form-data',
      schema: { type: 'object', required: ['file'], properties: { file: { type: 'string', format: 'binary' } } },
    },
    responses: {
      200: {
        description: 'Stored',
        example: {
          success: true,
          file: {
            filename: FILE,
            originalname: 'photo.jpg',
            mimetype: 'image/jpeg',
            size: 245000,
            url: `https://gateway.example.com/media/shop/${FILE}`,
          },
        },
      },
      413: {
        description: 'Larger than MAX_MEDIA_BYTES',
        example: { error: 'file is larger than 67108864 bytes', code: 'PAYLOAD_TOO_LARGE' },
      },
      503: storageDown,
    },
  },
  [`GET ${I}/media/list`]: {
    summary: "The instance's files, newest first",
    responses: {
      200: {
        description: 'OK',
        example: [
          { filename: FILE, size: 245000, url: `https://gateway.example.com/media/shop/${FILE}`, created: '2026-12-02T10:00:00.000Z' },
        ],
      },
    },
  },
  ...Object.fromEntries(
    (['DELETE', 'POST'] as const).map((method) => [
      `${method} ${I}/media/delete`,
      {
        summary: 'Delete a file',
        description: method === 'DELETE' ? '`filename` in the query (or the body).' : '`filename` in the body (or the query).',
        ...(method === 'DELETE' ? { parameters: { filename: FILE } } : { example: { filename: FILE } }),
        responses: {
          200: { description: 'Deleted', example: { success: true, deleted: FILE } },
          404: { description: 'No such file', example: { error: `no file ${FILE}`, code: 'MEDIA_NOT_FOUND' } },
          503: storageDown,
        },
      } satisfies RouteDoc,
    ]),
  ),
  'GET /media/:instanceId/:filename': {
    summary: 'A stored file',
    description: 'Public: the names are unguessable, as WhatsApp media links are.',
    public: true,
    parameters: { instanceId: 'shop', filename: FILE },
    responses: {
      200: { description: 'The file, with its mimetype', contentType: 'application/octet-stream' },
      404: { description: 'No such file', example: { error: 'no such file', code: 'MEDIA_NOT_FOUND' } },
      503: storageDown,
    },
  },
};
