/** Example values and answers the route docs share. */
import type { ResponseDoc } from '../openapi.js';

export const TO = '905551234567';
export const CHAT = '905551234567@s.whatsapp.net';
/** A WhatsApp message id, as the gateway chooses them. */
export const MESSAGE_ID = '3EB0C2F1A7D54B2E9F10';
export const GROUP = '120363025246125486@g.us';

export const success = { description: 'OK', example: { success: true } };
export const notConnected: ResponseDoc = {
  description: 'The instance is not connected to WhatsApp',
  example: { error: 'instance shop is not connected to WhatsApp', code: 'NOT_CONNECTED' },
};
export const whatsappError: ResponseDoc = {
  description: 'WhatsApp refused the request',
  example: { error: 'WhatsApp did not accept the request: not-authorized', code: 'WHATSAPP_ERROR' },
};
