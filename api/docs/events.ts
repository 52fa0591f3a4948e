/** Docs of the event streams (api/events/). */
import type { RouteDoc, RouteDocs } from '../openapi.js';
import { I } from './instances.js';

const CURSOR = '81234-5521';
const envelope = {
  event: 'message_received',
  data: {
    id: '3EB0C2F1A7D54B2E9F10',
    chatId: '905551234567@s.whatsapp.net',
    from: '905551234567@s.whatsapp.net',
    body: 'Merhaba',
    type: 'text',
  },
  timestamp: 1767700800000,
  instance_id: 'default',
  id: '0193e5b8-7c2a-7d4e-9f10-3a2b1c0d9e8f',
  seq: 5521,
};
const sseExample = [
  'retry: 2000',
  '',
  `id: ${CURSOR}`,
  'event: message_received',
  `data: ${JSON.stringify(envelope)}`,
  '',
  ': ping',
  '',
].join('\n');
const parameters = { after: CURSOR, types: 'message_received,message_ack' };
const headers = {
  'Last-Event-ID': {
    description: `Resume after this cursor, e.g. \`${CURSOR}\` (what EventSource sends when it reconnects); it wins over \`?after=\``,
  },
};
const expired = {
  description: 'The cursor is older than the retention (`WEBHOOK_RETENTION_DAYS`): events after it were deleted',
  example: {
    error: `events after cursor ${CURSOR} were deleted (kept WEBHOOK_RETENTION_DAYS); start without a cursor`,
    code: 'CURSOR_EXPIRED',
  },
};
const STREAM =
  'Server-sent events (`text/event-stream`): each event as the envelope a webhook gets, with `id:` its cursor and `event:` its name. With `Last-Event-ID` or `?after=`, every event after that cursor is sent first, in order, then the stream goes on live with no gap and no duplicate; without, it starts live (its first message is an `id:` alone, so that a reconnecting EventSource resumes from there). `?types=` keeps only the named events. A `: ping` comment comes every `EVENTS_HEARTBEAT_SECONDS` (15) s, with an `id:` of how far the stream went. A client that leaves more than `EVENTS_MAX_BUFFER_BYTES` unread is sent `event: stream_error` (`code` `SLOW_CONSUMER`, `cursor` to resume from) and cut off. The token can be given as `?token=` (EventSource sends no headers).';
const SOCKET =
  'The same events over a WebSocket: one JSON text frame per event, the webhook envelope with `cursor` added; `?after=` (resume) and `?types=` as for the SSE route. The server pings every `EVENTS_HEARTBEAT_SECONDS` s and closes a connection that does not answer; a client that does not keep up is closed with code 4008 and the cursor to resume from in the reason. Called without a WebSocket upgrade: 426.';
const sse = (summary: string, description: string): RouteDoc => ({
  summary,
  description,
  tag: 'Event streams',
  parameters,
  headers,
  responses: { 200: { description: 'The stream', contentType: 'text/event-stream', example: sseExample }, 410: expired },
});
const socket = (summary: string, description: string): RouteDoc => ({
  summary,
  description,
  tag: 'Event streams',
  parameters,
  responses: {
    101: 'Switching Protocols: the WebSocket is open',
    410: expired,
    426: {
      description: 'Not a WebSocket request',
      example: {
        error: 'this route is a WebSocket: connect with a WebSocket client, or use the SSE route without /ws',
        code: 'UPGRADE_REQUIRED',
      },
    },
  },
});

export const eventDocs: RouteDocs = {
  [`GET ${I}/events`]: sse("The instance's events, live (SSE)", `${STREAM} An instance token needs the \`read\` scope.`),
  [`GET ${I}/events/ws`]: socket("The instance's events, live (WebSocket)", `${SOCKET} An instance token needs the \`read\` scope.`),
  ['GET /api/events']: sse("Every instance's events, live (SSE)", `${STREAM} The admin token only.`),
  ['GET /api/events/ws']: socket("Every instance's events, live (WebSocket)", `${SOCKET} The admin token only.`),
};
