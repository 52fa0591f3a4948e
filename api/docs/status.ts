/** Docs of statuses (stories): posting them, and listing the contacts' and the account's own. */
import type { ResponseDoc, RouteDoc, RouteDocs } from '../openapi.js';
import { I } from './instances.js';
import { CHAT, TO } from './examples.js';

const STATUS_ID = '3EB0A9D2C41E7F6B5A38';

const posted: Record<number, ResponseDoc> = {
  200: { description: 'Posted: the status is on the socket; `id` is its WhatsApp message id', example: { sent: true, id: STATUS_ID } },
  202: {
    description: 'Queued (not connected, or held back by sendDelay): it goes out once, when it can',
    example: { sent: false, id: STATUS_ID, status: 'pending' },
  },
  413: {
    description: 'A data URI larger than MAX_MEDIA_BYTES',
    example: { error: 'image is larger than 67108864 bytes', code: 'PAYLOAD_TOO_LARGE' },
  },
  422: {
    description: "Accepted but impossible: the media cannot be fetched or is not of the endpoint's kind",
    example: {
      error: 'media https://example.com/vitrin.jpg: the file is text/html, not an image',
      code: 'SEND_FAILED',
      sent: false,
      id: STATUS_ID,
      status: 'failed',
    },
  },
  400: {
    description: 'Invalid, or no `to` while the account has no saved contacts',
    example: { error: 'to: the account has no saved contacts to post to; give the recipients in `to`', code: 'BAD_REQUEST' },
  },
};

const post = (summary: string, example: Record<string, unknown>, description: string): RouteDoc => ({
  summary,
  description: `${description} It goes through the outbox like a send (sendDelay, Idempotency-Key, the same answers) to \`to\` (phone numbers or user JIDs), or without \`to\` to every contact saved in the account's address book. A viewer's receipt is the status's \`message_ack\` (\`read\` once someone viewed it).`,
  tag: 'Status',
  example,
  responses: posted,
});

export const statusDocs: RouteDocs = {
  [`POST ${I}/status/text`]: post(
    'Post a text status',
    { body: 'Bugün tüm ürünlerde %20 indirim!', backgroundColor: '#1f7a4d', font: 2, to: [TO, '905559876543'] },
    '`body`: up to 700 characters; `backgroundColor` `#rrggbb` (or `#rrggbbaa`); `font` 0 to 9.',
  ),
  [`POST ${I}/status/image`]: post(
    'Post an image status',
    { image: 'https://example.com/vitrin.jpg', caption: 'Yeni vitrin', to: [TO] },
    '`image`: an http(s) URL, a base64 data URI, or the `url` of a file uploaded to `.../media/upload`.',
  ),
  [`POST ${I}/status/video`]: post(
    'Post a video status',
    { video: 'https://example.com/tanitim.mp4', caption: 'Tanıtım', to: [TO] },
    '`video`: an http(s) URL, a base64 data URI, or the `url` of a file uploaded to `.../media/upload`.',
  ),
  [`GET ${I}/status/list`]: {
    summary: "Statuses: the contacts' and the account's own, newest first",
    description:
      "Contacts' statuses as they arrive (each also a `status_received` event; media downloaded into media storage, as for messages) and the account's own. `from` keeps one poster's. A status shows on WhatsApp for 24 hours (`expiresAt`); the gateway keeps it with the history. (`GET .../status` is the connection's status.)",
    tag: 'Status',
    parameters: { from: TO, limit: 50, page: 1 },
    responses: {
      200: {
        description: 'OK',
        example: {
          statuses: [
            {
              id: STATUS_ID,
              chatId: 'status@broadcast',
              from: CHAT,
              to: '905559876543@s.whatsapp.net',
              fromMe: false,
              type: 'image',
              body: 'Deniz kenarı',
              status: 'received',
              timestamp: 1764669600,
              mimetype: 'image/jpeg',
              media: 'http://localhost:3000/media/default/1764669600000-9f2c4b7e1a3d5c6b.jpg',
              expiresAt: 1764756000,
            },
          ],
          total: 1,
          page: 1,
          limit: 50,
        },
      },
    },
  },
};
