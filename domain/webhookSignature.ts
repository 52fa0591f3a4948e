/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): the signature
 * is HMAC-SHA256 over `{webhook-id}.{webhook-timestamp}.{body}` with the
 * secret's bytes (the base64 after `whsec_`), sent as `v1,{base64}`.
 */
import { createHmac } from 'node:crypto';

export interface SignedHeaders {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature'?: string;
}

/** The Standard Webhooks headers of one attempt; `timestampSeconds` is when the attempt is made. */
export function webhookHeaders(id: string, body: string, secret: string | null, timestampSeconds: number): SignedHeaders {
  const headers: SignedHeaders = { 'webhook-id': id, 'webhook-timestamp': String(timestampSeconds) };
  if (secret) {
    const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
    const signature = createHmac('sha256', key).update(`${id}.${timestampSeconds}.${body}`).digest('base64');
    headers['webhook-signature'] = `v1,${signature}`;
  }
  return headers;
}
