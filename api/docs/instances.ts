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
    summary: 'Connection status',
    description:
      '`open`, `connecting` or `disconnected`. While not open, `lastError` tells why the last attempt to connect failed (for example `the proxy refused the connection (HTTP 407)`), when one did.',
    responses: { 200: { description: 'OK', example: { accountStatus: { status: 'open' } } } },
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
