/** Docs of the message history: pages of messages, counts, a poll's results, clearing. */
import type { RouteDocs } from '../openapi.js';
import { I } from './instances.js';
import { CHAT, MESSAGE_ID, TO, success } from './examples.js';

const messageExample = {
  id: MESSAGE_ID,
  chatId: CHAT,
  from: '905559876543@s.whatsapp.net',
  to: CHAT,
  fromMe: true,
  type: 'chat',
  body: 'Merhaba',
  status: 'delivered',
  timestamp: 1764669600,
  source: 'api',
};
const messagePage = { description: 'OK', example: { messages: [messageExample], total: 1, page: 1, limit: 100 } };

export const historyDocs: RouteDocs = {
  [`GET ${I}/messages`]: {
    summary: 'Message history, newest first',
    description:
      "Statuses: pending → sent → delivered → read → played, or failed; incoming messages are `received`. `from` is the sender's phone-number JID where known; `fromLid` its LID beside it, when WhatsApp named the sender by LID. An edited message has its current text in `body`, `editedAt`, and `edits` (each edit's `body`, `previous` text and `editedAt`); a message deleted for everyone has `revoked: true`, `revokedAt` and `revokedBy`, and its text, edits and media are gone unless the instance's `keepRevokedMessages` setting keeps them.",
    tag: 'History',
    parameters: { limit: 100, page: 1, status: 'delivered', chatId: TO },
    responses: { 200: messagePage },
  },
  [`GET ${I}/messages/poll`]: {
    summary: "A poll's results",
    description:
      "Each option's count and voters, and every voter's current vote (`selected`: the options chosen; none when the vote was withdrawn), for a poll the account sent or received. Votes are counted as they arrive (each also a `poll_vote` event), in one-to-one chats and groups; a voter's later vote replaces the earlier one.",
    tag: 'History',
    parameters: { msgId: MESSAGE_ID },
    required: ['msgId'],
    responses: {
      200: {
        description: 'OK',
        example: {
          id: MESSAGE_ID,
          chatId: CHAT,
          name: 'Hangi gün uygun?',
          selectableCount: 1,
          options: [
            { name: 'Pazartesi', votes: 1, voters: [CHAT] },
            { name: 'Salı', votes: 0, voters: [] },
          ],
          voters: 1,
          votes: [{ voter: CHAT, selected: ['Pazartesi'], votedAt: 1764669660000 }],
        },
      },
      400: {
        description: 'msgId missing, or not a poll',
        example: { error: `msgId: message ${MESSAGE_ID} is a chat message, not a poll`, code: 'BAD_REQUEST' },
      },
      404: {
        description: 'No such message',
        example: { error: `msgId: no message ${MESSAGE_ID} in this instance`, code: 'MESSAGE_NOT_FOUND' },
      },
    },
  },
  [`GET ${I}/messages/statistics`]: {
    summary: 'Message counts by status',
    description: 'Counts follow the lifecycle: a read message also counts as sent and delivered.',
    tag: 'History',
    responses: {
      200: {
        description: 'OK',
        example: { total: 1250, sent: 480, received: 720, pending: 5, delivered: 460, read: 300, played: 0, failed: 10 },
      },
    },
  },
  [`POST ${I}/messages/clear`]: { summary: 'Delete the stored message history', tag: 'History', responses: { 200: success } },
  [`DELETE ${I}/messages/clear`]: { summary: 'Delete the stored message history', tag: 'History', responses: { 200: success } },
  [`GET ${I}/chats/messages`]: {
    summary: "One chat's messages, newest first",
    tag: 'History',
    parameters: { chatId: TO, limit: 50 },
    required: ['chatId'],
    responses: { 200: { ...messagePage, example: { ...messagePage.example, limit: 50 } } },
  },
};
