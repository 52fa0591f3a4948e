/** Docs of the instance routes: one instance per WhatsApp number. */
import type { RouteDocs } from '../openapi.js';

export const I = '/api/instance/:instanceId';

const success = { description: 'OK', example: { success: true } };

export const instanceDocs: RouteDocs = {
  'GET /api/instance': {
    summary: 'List instances and their connection status',
    description: 'An instance token sees its own instance only.',
    responses: {
      200: {
        description: 'OK',
        example: { instances: ['default', 'inst_a1b2c3d4'], statuses: { default: { accountStatus: { status: 'open' } } } },
      },
    },
  },
  'POST /api/instance': {
    summary: 'Create an instance',
    description: 'The id is `inst_` and 8 hex characters when absent. Admin token only.',
    example: { id: 'shop', description: 'Shop front desk' },
    responses: {
      200: { description: 'Created', example: { success: true, instanceId: 'inst_a1b2c3d4' } },
      409: { description: 'An instance with that id exists', example: { error: 'instance shop already exists', code: 'INSTANCE_EXISTS' } },
    },
  },
  [`DELETE ${I}`]: {
    summary: 'Delete an instance and all its data',
    description:
      'Logs the device out of WhatsApp, cancels its workflows, and deletes its credentials, messages, chats, contacts, media, rules, campaigns and schedules. Admin token only.',
    responses: { 200: success },
  },
  [`GET ${I}/status`]: {
    summary: "Connection status, and WhatsApp's restrictions on the account",
    description:
      '`accountStatus.status`: `open`, `connecting` or `disconnected`; while not open, `accountStatus.lastError` tells why the last attempt to connect failed (for example `the proxy refused the connection (HTTP 407)`), when one did. `restrictions`: what WhatsApp last said of the account\'s limits, null for a kind it never reported. `messageCapping` counts new chats in a cycle (`status` NONE, FIRST_WARNING, SECOND_WARNING or CAPPED; `active` when CAPPED, until the cycle ends); `reachoutTimelock` forbids reaching new contacts `until` a time. While either is active the instance\'s running campaigns are paused (`pausedBy: "restriction"`) and resume when it is lifted; each change is an `account_restriction` webhook event.',
    responses: {
      200: {
        description: 'OK',
        example: {
          accountStatus: { status: 'open' },
          restrictions: {
            messageCapping: {
              active: true,
              until: '2026-12-08T00:00:00.000Z',
              status: 'CAPPED',
              totalQuota: 250,
              usedQuota: 250,
              updatedAt: '2026-12-02T09:00:00.000Z',
            },
            reachoutTimelock: {
              active: false,
              until: null,
              enforcementType: 'DEFAULT',
              updatedAt: '2026-12-01T15:30:00.000Z',
            },
          },
        },
      },
    },
  },
  [`GET ${I}/qr`]: {
    summary: 'The pairing QR as a PNG data URI',
    description: '`qrCode` is null when connected, or before the first QR. Scan it in WhatsApp under Linked devices.',
    responses: { 200: { description: 'OK', example: { qrCode: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUg...', status: 'connecting' } } },
  },
  [`GET ${I}/qrcode`]: {
    summary: 'The pairing QR as image/png',
    description: 'Usable in `<img>`. When there is no QR (connected, or none yet), a JSON body as from `/qr`.',
    responses: { 200: { description: 'The PNG, or JSON when there is no QR', contentType: 'image/png' } },
  },
  [`POST ${I}/pairing-code`]: {
    summary: 'A code to pair by phone number instead of scanning the QR',
    description:
      'While the instance is connecting and not paired (after `/connect`, once a QR is shown), WhatsApp gives an 8-character code for the number. On that phone: Linked devices → Link a device → Link with phone number instead, then type the code. The instance then opens as after a QR scan. Each call makes a new code.',
    example: { phone: '905551234567' },
    responses: {
      200: { description: 'The code to type on the phone', example: { code: 'ABCD1234' } },
      409: {
        description: 'Paired already, or not connecting (start it with `/connect`)',
        example: { error: 'instance shop is paired already (log it out first to pair another number)', code: 'ALREADY_PAIRED' },
      },
      503: {
        description: 'The connection is starting and not yet waiting for a pairing: try again in a few seconds',
        example: { error: 'instance shop is not waiting for a pairing yet; try again in a few seconds', code: 'NOT_CONNECTING' },
      },
    },
  },
  [`GET ${I}/me`]: {
    summary: 'The linked WhatsApp account',
    responses: {
      200: { description: 'OK', example: { id: '905551234567:12@s.whatsapp.net', name: 'Ahmet', phone: '905551234567' } },
      409: {
        description: 'No account linked yet',
        example: { error: 'instance shop has no WhatsApp account linked yet', code: 'NOT_CONNECTED' },
      },
    },
  },
  [`POST ${I}/connect`]: {
    summary: 'Start the WhatsApp connection',
    description: 'Until the instance is paired, a QR appears at `/qr`. A paired instance reconnects with its stored credentials.',
    responses: { 200: success },
  },
  [`POST ${I}/restart`]: {
    summary: 'Close and reopen the connection in the background',
    responses: { 200: { description: 'OK', example: { success: true, message: 'Restarting...' } } },
  },
  [`POST ${I}/logout`]: {
    summary: 'Log the WhatsApp session out',
    description: 'The device is unlinked; connecting again needs a new QR scan.',
    responses: { 200: success },
  },
  [`POST ${I}/clear`]: {
    summary: "Delete the instance's whole message history",
    responses: { 200: success },
  },
};
