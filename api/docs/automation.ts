/** Docs of settings, webhooks, campaigns, scheduled messages, opt-outs and the chatbot. */
import type { ErrorCode } from '../../lib/errorCodes.js';
import type { ResponseDoc, RouteDocs } from '../openapi.js';
import { I } from './instances.js';

const TO = '905551234567';
const CHAT = '905551234567@s.whatsapp.net';
const MESSAGE_ID = '3EB0C2F1A7D54B2E9F10';
const EVENT_ID = '0193e5b8-7c2a-7d4e-9f10-3a2b1c0d9e8f';
/** The examples' scheduledAt: a month from when the document is made, so that trying an example schedules it (a past time is a 400). */
const inAMonth = (hour: number) => {
  const at = new Date(Date.now() + 30 * 86_400_000);
  at.setUTCHours(hour, 0, 0, 0);
  return at.toISOString().replace('.000Z', 'Z');
};
const success = { description: 'OK', example: { success: true } };
const conflict = (error: string, code: ErrorCode): ResponseDoc => ({
  description: 'Not allowed in its current state',
  example: { error, code },
});

const settingsExample = {
  webhookUrl: 'https://example.com/hook',
  webhookEnabled: true,
  webhookSecret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  sendDelay: 1000,
  optOutKeywords: 'STOP,DUR,İPTAL',
  chatbotEnabled: true,
  chatbotPauseMinutes: 30,
  chatbotRepliesPerMinute: 5,
  timezone: 'Europe/Istanbul',
  rejectCalls: false,
  rejectCallsMessage: 'We cannot take calls here; please write to us.',
  keepRevokedMessages: false,
  proxyUrl: 'socks5://shop:s3cret@proxy.example.com:1080',
};
const updateSettings = {
  summary: 'Change settings',
  description:
    'Any of the fields. `webhookUrl` or `webhookSecret` `""` removes it; a secret is `whsec_` + base64 of 24 to 64 random bytes; `sendDelay` is ms between the instance\'s outgoing messages; `timezone` an IANA name; `rejectCalls` declines incoming calls by themselves, and `rejectCallsMessage` (`""` for none) is then sent to the caller; `keepRevokedMessages` keeps the text, edits and media of a message deleted for everyone (by default they are erased and the message stays marked as deleted). A changed webhook is tried at once. `proxyUrl` (`http://`, `https://`, `socks5://` or `socks5h://`, with optional `user:password@`; `""` removes it) is the proxy the session\'s WhatsApp connections go through: the websocket and the media uploads and downloads (not the gateway\'s own fetch of media URLs given in send requests, which keeps its private-address checks); changing it reconnects the session through the new proxy.',
  example: settingsExample,
  responses: { 200: success },
};

const delivery = {
  id: EVENT_ID,
  seq: 1042,
  event: 'message_received',
  chatId: CHAT,
  status: 'failed',
  attempts: 33,
  lastStatusCode: 500,
  lastError: 'HTTP 500',
  createdAt: '2026-12-01T10:00:00.000Z',
  deliveredAt: null,
  nextAttemptAt: null,
};
const noWebhook = conflict('instance shop has no webhook URL (POST .../settings { "webhookUrl" })', 'NO_WEBHOOK');

const campaign = {
  id: 1,
  status: 'running',
  messageType: 'text',
  body: 'Merhaba {name}, indirim başladı!',
  mediaUrl: null,
  caption: null,
  filename: null,
  delay: 3,
  delayMax: 8,
  typing: 'auto',
  total: 2,
  counts: { pending: 1, sent: 1, failed: 0, cancelled: 0, skipped: 0 },
  startAt: null,
  startedAt: '2026-12-02T10:00:00.000Z',
  finishedAt: null,
  createdAt: '2026-12-02T10:00:00.000Z',
};
const jobNotFound: ResponseDoc = { description: 'No such job', example: { error: 'bulk job 1 not found', code: 'JOB_NOT_FOUND' } };

const scheduled = {
  id: 1,
  recipient: CHAT,
  recipientName: 'Ayşe',
  messageType: 'text',
  body: 'Merhaba Ayşe, randevunuz yarın 10:00.',
  mediaUrl: null,
  filename: null,
  scheduledAt: inAMonth(6).replace('Z', '.000Z'),
  status: 'pending',
  messageId: null,
  error: null,
  sentAt: null,
  lateMs: null,
  createdAt: '2026-12-02T10:00:00.000Z',
};
const scheduledNotFound: ResponseDoc = {
  description: 'No such scheduled message',
  example: { error: 'scheduled message 1 not found', code: 'SCHEDULED_NOT_FOUND' },
};
const notPending = conflict('scheduled message 1 is no longer pending', 'SCHEDULED_NOT_PENDING');

const rule = {
  id: 1,
  match_type: 'contains',
  trigger_text: 'fiyat',
  response: 'Merhaba {name}, güncel listemiz: ... (saat {time})',
  delay: 2,
  enabled: 1,
  priority: 0,
};
const ruleNotFound: ResponseDoc = { description: 'No such rule', example: { error: 'chatbot rule 1 not found', code: 'RULE_NOT_FOUND' } };

export const automationDocs: RouteDocs = {
  [`GET ${I}/settings`]: {
    summary: 'The instance settings',
    description: 'Values as strings, as in the reference; the webhook secret masked.',
    responses: {
      200: {
        description: 'OK',
        example: {
          ...Object.fromEntries(Object.entries(settingsExample).map(([k, v]) => [k, String(v)])),
          webhookSecret: 'whsec_…LaSw',
          proxyUrl: 'socks5://shop:****@proxy.example.com:1080',
        },
      },
    },
  },
  [`POST ${I}/settings`]: updateSettings,
  [`PUT ${I}/settings`]: updateSettings,

  [`GET ${I}/webhooks/deliveries`]: {
    summary: 'Webhook deliveries, newest first',
    description:
      "Each event with its delivery state, and `chatId`, the chat it concerns (a message's chat, the group of a group event, the caller of a call; null for the instance's own events such as `connection_status`); delivered and failed ones are kept WEBHOOK_RETENTION_DAYS.",
    parameters: { status: 'failed', event: 'message_received', limit: 50, page: 1 },
    responses: { 200: { description: 'OK', example: { deliveries: [delivery], total: 1 } } },
  },
  [`GET ${I}/webhooks/deliveries/:deliveryId`]: {
    summary: 'One delivery with every attempt',
    parameters: { deliveryId: EVENT_ID },
    responses: {
      200: {
        description: 'OK',
        example: {
          ...delivery,
          data: { id: MESSAGE_ID, from: CHAT, body: 'Merhaba', type: 'chat', fromMe: false, chatId: CHAT },
          attempts: [{ at: '2026-12-01T10:00:00.120Z', statusCode: 500, durationMs: 31, error: 'HTTP 500' }],
          attemptCount: 33,
        },
      },
      404: { description: 'No such delivery', example: { error: `delivery ${EVENT_ID} not found`, code: 'DELIVERY_NOT_FOUND' } },
    },
  },
  [`POST ${I}/webhooks/deliveries/:deliveryId/retry`]: {
    summary: 'Send a delivery again now',
    description: 'With the same `webhook-id`; also a delivered or failed one.',
    parameters: { deliveryId: EVENT_ID },
    responses: {
      200: success,
      404: { description: 'No such delivery', example: { error: `delivery ${EVENT_ID} not found`, code: 'DELIVERY_NOT_FOUND' } },
      409: noWebhook,
    },
  },
  [`POST ${I}/webhooks/test`]: {
    summary: 'Deliver a webhook_test event now',
    responses: { 200: { description: 'Recorded; delivery starts at once', example: { success: true, id: EVENT_ID } }, 409: noWebhook },
  },

  [`POST ${I}/bulk`]: {
    summary: 'Start a campaign',
    description:
      'The same message to up to 100,000 recipients, one at a time with `delay` (to `delayMax`, at random) seconds between sends; `{name}` and `{phone}` are filled in; opted-out numbers are skipped. `startAt` starts it later. Durable: no recipient gets it twice, none is skipped. `typing: true` shows each recipient "composing" before the message for 50 ms a character (at least 1 s, at most 8 s); `typingMs` (0-20000) for a fixed time instead. While WhatsApp restricts the account (message capping, reach-out timelock) the campaign is paused by itself and resumes when the restriction is lifted.',
    example: {
      recipients: [
        { id: '905551234567', name: 'Ali' },
        { id: '905557654321', name: 'Ayşe' },
      ],
      body: 'Merhaba {name}, indirim başladı!',
      delay: 3,
      delayMax: 8,
      typing: true,
    },
    tag: 'Campaigns',
    responses: { 200: { description: 'Created', example: { success: true, jobId: 1 } } },
  },
  [`GET ${I}/bulk`]: {
    summary: 'Campaigns, newest first',
    parameters: { limit: 20, page: 1 },
    responses: { 200: { description: 'OK', example: { jobs: [campaign], total: 1, page: 1, limit: 20 } } },
  },
  [`GET ${I}/bulk/:jobId`]: {
    summary: 'One campaign with its recipients',
    parameters: { jobId: 1, limit: 100, page: 1, status: 'sent' },
    responses: {
      200: {
        description: 'OK',
        example: {
          ...campaign,
          recipients: [
            {
              position: 0,
              id: TO,
              name: 'Ali',
              status: 'sent',
              messageId: MESSAGE_ID,
              messageStatus: 'delivered',
              error: null,
              updatedAt: '2026-12-02T10:00:01.000Z',
            },
          ],
          recipientsTotal: 2,
          page: 1,
          limit: 100,
        },
      },
      404: jobNotFound,
    },
  },
  [`POST ${I}/bulk/:jobId/cancel`]: {
    summary: 'Cancel a campaign',
    description: 'Nothing more is sent; recipients not sent yet become `cancelled`.',
    parameters: { jobId: 1 },
    responses: { 200: success, 404: jobNotFound, 409: conflict('bulk job 1 has already ended (completed)', 'JOB_ENDED') },
  },
  [`POST ${I}/bulk/:jobId/pause`]: {
    summary: 'Pause a scheduled or running campaign',
    parameters: { jobId: 1 },
    responses: {
      200: success,
      404: jobNotFound,
      409: conflict('bulk job 1 is completed: only a scheduled or running job can be paused', 'JOB_NOT_RUNNING'),
    },
  },
  [`POST ${I}/bulk/:jobId/resume`]: {
    summary: 'Resume a paused campaign',
    parameters: { jobId: 1 },
    responses: { 200: success, 404: jobNotFound, 409: conflict('bulk job 1 is running, not paused', 'JOB_NOT_PAUSED') },
  },

  [`POST ${I}/scheduled`]: {
    summary: 'Schedule a message',
    description:
      'Sent at `scheduledAt` (ISO 8601 with a zone, in the future, at most a year ahead) on a durable timer, surviving restarts. `{name}` and `{phone}` are filled in.',
    example: {
      recipient: TO,
      recipientName: 'Ayşe',
      body: 'Merhaba {name}, randevunuz yarın 10:00.',
      scheduledAt: inAMonth(6),
    },
    responses: { 200: { description: 'Scheduled', example: { success: true, id: 1 } } },
  },
  [`GET ${I}/scheduled`]: {
    summary: 'Scheduled messages, latest time first',
    parameters: { status: 'pending', limit: 50, page: 1 },
    responses: { 200: { description: 'OK', example: { scheduled: [scheduled], total: 1, page: 1, limit: 50 } } },
  },
  [`GET ${I}/scheduled/:id`]: {
    summary: 'One scheduled message',
    parameters: { id: 1 },
    responses: { 200: { description: 'OK', example: scheduled }, 404: scheduledNotFound },
  },
  [`DELETE ${I}/scheduled/:id`]: {
    summary: 'Cancel a pending scheduled message',
    parameters: { id: 1 },
    responses: { 200: success, 404: scheduledNotFound, 409: notPending },
  },
  [`POST ${I}/scheduled/:id`]: {
    summary: 'Change a pending scheduled message',
    parameters: { id: 1 },
    example: { scheduledAt: inAMonth(7), body: 'Merhaba {name}, randevunuz yarın 11:00.' },
    responses: { 200: { description: 'Changed', example: { success: true, scheduled } }, 404: scheduledNotFound, 409: notPending },
  },

  [`GET ${I}/optouts`]: {
    summary: 'Numbers campaigns skip',
    description: 'Added by an opt-out keyword (`source: keyword`) or through the API.',
    parameters: { limit: 100, page: 1 },
    responses: {
      200: {
        description: 'OK',
        example: {
          optouts: [{ id: CHAT, source: 'keyword', keyword: 'STOP', createdAt: '2026-12-02T10:00:00.000Z' }],
          total: 1,
          page: 1,
          limit: 100,
        },
      },
    },
  },
  [`POST ${I}/optouts`]: {
    summary: 'Add a number to the opt-out list',
    description: 'Campaigns skip it from now on; its running conversation flow run, if any, is cancelled.',
    example: { chatId: TO },
    responses: { 200: { description: 'Listed (`added` false when it already was)', example: { success: true, id: CHAT, added: true } } },
  },
  [`DELETE ${I}/optouts`]: {
    summary: 'Remove a number from the opt-out list',
    description: '`chatId` in the body or the query.',
    example: { chatId: TO },
    responses: {
      200: success,
      404: { description: 'It was not listed', example: { error: `${CHAT} is not on the opt-out list`, code: 'NOT_OPTED_OUT' } },
    },
  },

  [`GET ${I}/chatbot/rules`]: {
    summary: 'Auto-reply rules, in the order they are tried',
    responses: { 200: { description: 'OK', example: { rules: [rule], enabled: true } } },
  },
  [`POST ${I}/chatbot/rules`]: {
    summary: 'Create a rule, or change one (with `id`)',
    description:
      'Rules are tried in `priority` order (lower first); the first match answers 1:1 chats after `delay` seconds. Matching ignores case, accents and the Turkish i; `regex` runs on RE2. `{name}`, `{phone}` and `{time}` are filled in. With `id`, the fields given change and the others stay.',
    example: { match_type: 'contains', trigger_text: 'fiyat', response: 'Merhaba {name}, güncel listemiz: ... (saat {time})', delay: 2 },
    responses: {
      200: { description: 'Saved', example: { success: true, id: 1, rule } },
      404: ruleNotFound,
      409: conflict('an instance may have at most 2000 chatbot rules', 'TOO_MANY_RULES'),
    },
  },
  [`DELETE ${I}/chatbot/rules/:id`]: {
    summary: 'Delete a rule',
    parameters: { id: 1 },
    responses: { 200: success, 404: ruleNotFound },
  },
  [`GET ${I}/chatbot/pauses`]: {
    summary: 'Chats where the bot is silent because a person wrote',
    description:
      'A message written on the phone (`because: "phone"`) or a send marked `byPerson` (`"person"`) pauses the bot in its chat for `chatbotPauseMinutes`; automated sends do not. So does a conversation flow handing the chat to a person (`"handoff"`, without `messageId`); a pause also keeps flows\' keywords from starting there. Empty while the bot is off. When a pause starts, a `chatbot_paused` webhook event (`{ chatId, messageId, because, pausedUntil }`) says so.',
    responses: {
      200: {
        description: 'OK',
        example: {
          pauses: [
            {
              chatId: CHAT,
              pausedUntil: '2026-12-02T10:40:00.000Z',
              because: 'phone',
              since: '2026-12-02T10:10:00.000Z',
              messageId: '3EB0C431D5A2B0F7E1A9',
            },
          ],
          pauseMinutes: 30,
        },
      },
    },
  },
  [`POST ${I}/chatbot/resume`]: {
    summary: 'Let the bot answer in a chat again',
    description: "Lifts the pause a person's message started; `resumed: false` when the bot was not paused there.",
    example: { chatId: CHAT },
    responses: { 200: { description: 'OK', example: { success: true, resumed: true } } },
  },
  [`POST ${I}/chatbot/toggle`]: {
    summary: 'Switch the chatbot on or off',
    description: 'Without `enabled`, flips it.',
    example: { enabled: true },
    responses: { 200: { description: 'OK', example: { success: true, enabled: true } } },
  },
};
