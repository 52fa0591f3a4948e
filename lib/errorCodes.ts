/**
 * Every `code` the API can answer in `{ "error", "code" }`, with its HTTP
 * status and what it means. The error classes (lib/errors.ts) take an
 * `ErrorCode`, so a code that is not here does not compile; docs/errors.md is
 * the table for clients, and test/error-codes.test.ts keeps the sources, this
 * catalogue and that table in step.
 *
 * `status` is a list where one code is answered with more than one status
 * (the same condition met at different moments), and `'4xx'` for the one code
 * that carries the status a body parser chose.
 */
export type ErrorStatus = number | readonly number[] | '4xx';

export interface ErrorCodeInfo {
  readonly status: ErrorStatus;
  readonly meaning: string;
}

export const ERROR_CODES = {
  // The request itself
  BAD_REQUEST: { status: 400, meaning: 'a parameter is missing or invalid; the message starts with its name' },
  MALFORMED_JSON: { status: 400, meaning: 'the body is not valid JSON' },
  NOT_JSON: { status: 400, meaning: 'the body was sent with a Content-Type other than application/json (or none)' },
  INVALID_TEXT: { status: 400, meaning: 'a text in the body or query holds NUL (\\u0000) or an unpaired surrogate' },
  MALFORMED_PATH: { status: 400, meaning: 'the path has a malformed percent-escape' },
  CLIENT_ERROR: { status: '4xx', meaning: 'the body could not be read, with the status the body parser gave (other than 400)' },
  PAYLOAD_TOO_LARGE: { status: 413, meaning: 'the body, an uploaded file or a media file is larger than allowed' },
  ROUTE_NOT_FOUND: { status: 404, meaning: 'no route for this method and path' },
  MEDIA_KIND: { status: 400, meaning: "the media's bytes are not of the endpoint's kind (an image, a video, audio, a WebP sticker)" },
  IDEMPOTENCY_KEY_REUSED: { status: 422, meaning: 'the Idempotency-Key was used for another request; nothing was sent' },

  // Tokens
  UNAUTHORIZED: { status: 401, meaning: 'the API (or metrics) token is missing, wrong or revoked' },
  ADMIN_ONLY: { status: 403, meaning: 'this needs the admin token' },
  WRONG_INSTANCE: { status: 403, meaning: 'an instance token used outside its instance' },
  MISSING_SCOPE: { status: 403, meaning: 'the instance token lacks the scope this route needs' },
  RATE_LIMITED: { status: 429, meaning: "the token's requests per minute are used up; Retry-After says when to try again" },
  TOKEN_NOT_FOUND: { status: 404, meaning: 'no token with that id' },

  // Instances and their WhatsApp session
  INSTANCE_NOT_FOUND: { status: 404, meaning: 'no instance with that id' },
  INVALID_INSTANCE_ID: { status: 400, meaning: 'the instance id in the path is not a valid id' },
  INSTANCE_EXISTS: { status: 409, meaning: 'an instance with that id exists already' },
  NOT_CONNECTED: { status: 409, meaning: 'the instance has no WhatsApp account linked, or is not connected to WhatsApp now' },
  ALREADY_PAIRED: { status: 409, meaning: 'the instance is paired already (log it out to pair another number)' },
  NOT_CONNECTING: {
    status: [409, 503],
    meaning:
      'a pairing code was asked for an instance that is not connecting (409), or whose session is not waiting for a pairing yet (503)',
  },
  WHATSAPP_ERROR: { status: 502, meaning: 'WhatsApp did not accept the request' },

  // Messages, contacts, media
  MESSAGE_NOT_FOUND: { status: 404, meaning: 'no message with that id in this instance (or chat)' },
  NOT_EDITABLE: {
    status: 400,
    meaning:
      "the message cannot be edited: not the account's own, not a text or a media message's caption, not sent yet, deleted, or sent more than 15 minutes ago",
  },
  SEND_FAILED: {
    status: 422,
    meaning: 'the send was accepted but failed (e.g. the number is not on WhatsApp); the answer has sent: false, id, status',
  },
  FLOW_NOT_FOUND: { status: 404, meaning: 'no conversation flow with that id in this instance' },
  INVALID_FLOW: {
    status: 400,
    meaning: 'the flow as a whole is invalid: a step leads nowhere, is never reached, or loops without asking or waiting; the message names the step',
  },
  FLOW_DISABLED: { status: 409, meaning: 'the flow is disabled: enable it to start runs' },
  FLOW_RUN_ACTIVE: { status: 409, meaning: 'the chat has a running flow run; cancel it or start with "replace": true' },
  OPTED_OUT: { status: 409, meaning: 'the number is on the opt-out list: a flow is not started for it from the API' },
  FLOW_RUN_NOT_FOUND: { status: 404, meaning: 'no flow run with that id in this instance' },
  FLOW_RUN_ENDED: { status: 409, meaning: 'the flow run has ended already (completed, handed off, cancelled or failed)' },
  CHANNEL_NOT_FOUND: { status: 404, meaning: 'no channel with that invite code' },
  LABEL_NOT_FOUND: { status: 404, meaning: 'no label with that id on the account' },
  CONTACT_NOT_FOUND: { status: 404, meaning: 'no contact with that chat id' },
  MEDIA_NOT_FOUND: { status: 404, meaning: 'no uploaded file with that name' },
  MEDIA_STORAGE_UNAVAILABLE: { status: 503, meaning: 'the media store (S3) did not answer or refused' },

  // Groups
  GROUP_NOT_FOUND: { status: 404, meaning: 'WhatsApp knows no such group' },
  NOT_A_GROUP_MEMBER: { status: 403, meaning: 'the account is not a member of the group' },
  NOT_A_GROUP_ADMIN: { status: 403, meaning: 'the account is not an admin of the group' },
  GROUP_CHANGED: { status: 409, meaning: 'the group changed while the request was made' },
  INVITE_NOT_VALID: { status: 404, meaning: 'the invite code is revoked, expired or unknown' },

  // Webhooks
  DELIVERY_NOT_FOUND: { status: 404, meaning: 'no webhook delivery with that id' },
  NO_WEBHOOK: { status: 409, meaning: 'the instance has no webhook URL' },
  WEBHOOK_OFF: { status: 409, meaning: "the instance's webhook is switched off" },

  // Event streams
  CURSOR_EXPIRED: {
    status: 410,
    meaning: 'the stream was asked to resume from a cursor older than the event retention: events after it were deleted',
  },
  UPGRADE_REQUIRED: { status: 426, meaning: 'a WebSocket route was called without a WebSocket upgrade' },
  SLOW_CONSUMER: {
    status: 200,
    meaning:
      'inside an SSE stream (event: stream_error, with the cursor to resume from): the client left too much unread and the stream is cut off',
  },

  // Campaigns, scheduled messages, opt-outs, chatbot
  JOB_NOT_FOUND: { status: 404, meaning: 'no bulk job with that id' },
  JOB_ENDED: { status: 409, meaning: 'the bulk job has ended already' },
  JOB_NOT_RUNNING: { status: 409, meaning: 'only a scheduled or running bulk job can be paused' },
  JOB_NOT_PAUSED: { status: 409, meaning: 'only a paused bulk job can be resumed' },
  SCHEDULED_NOT_FOUND: { status: 404, meaning: 'no scheduled message with that id' },
  SCHEDULED_SENDING: { status: 409, meaning: 'the scheduled message is being sent' },
  SCHEDULED_NOT_PENDING: { status: 409, meaning: 'the scheduled message is no longer pending (sent, failed or cancelled)' },
  NOT_OPTED_OUT: { status: 404, meaning: 'the chat is not on the opt-out list' },
  RULE_NOT_FOUND: { status: 404, meaning: 'no chatbot rule with that id' },
  TOO_MANY_RULES: { status: 409, meaning: 'the instance has as many chatbot rules as allowed' },

  // The gateway's own services
  DATABASE_UNAVAILABLE: { status: 503, meaning: 'Postgres did not answer in time' },
  TEMPORAL_UNAVAILABLE: { status: 503, meaning: 'Temporal did not answer' },
  INTERNAL: { status: 500, meaning: 'an unexpected error; the gateway logged it' },

  // The error classes' defaults (lib/errors.ts), for a refusal without a code of its own: none answers them today.
  FORBIDDEN: { status: 403, meaning: 'refused, without a more specific code' },
  NOT_FOUND: { status: 404, meaning: 'not found, without a more specific code' },
  CONFLICT: { status: 409, meaning: 'not allowed in the current state, without a more specific code' },
  UNAVAILABLE: { status: 503, meaning: 'a service did not answer, without a more specific code' },
} as const satisfies Record<string, ErrorCodeInfo>;

export type ErrorCode = keyof typeof ERROR_CODES;

/** A code's status as docs/errors.md writes it: `404`, `409, 503` or `4xx`. */
export function statusText(code: ErrorCode): string {
  const { status } = ERROR_CODES[code] as ErrorCodeInfo;
  return typeof status === 'object' ? status.join(', ') : String(status);
}

/** Whether `code` may be answered with `status`. */
export function allowsStatus(code: ErrorCode, status: number): boolean {
  const allowed = (ERROR_CODES[code] as ErrorCodeInfo).status;
  if (allowed === '4xx') return status >= 400 && status < 500;
  return typeof allowed === 'number' ? allowed === status : allowed.includes(status);
}
