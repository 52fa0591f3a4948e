/**
 * One webhook attempt: POST the event's envelope to the instance's URL with
 * the Standard Webhooks headers, bounded in time (10 s for the whole attempt)
 * and in what is read back (a short prefix of the body), redirects not
 * followed. The answer is classified for the retry policy.
 */
import { request } from 'undici';
import { describeFailure, guardedAgent, readAtMost } from './guardedHttp.js';
import { parseRetryAfter } from '../domain/webhookSchedule.js';
import { webhookHeaders } from '../domain/webhookSignature.js';
import type { Envelope } from '../domain/events.js';

export const ATTEMPT_TIMEOUT_MS = 10_000;
/** How much of a receiver's answer is read (for the delivery log); the rest is never downloaded. */
const MAX_RESPONSE_BYTES = 1_024;

/**
 * - `delivered`: 2xx.
 * - `rejected`: a 4xx other than 408, 410 and 429; this event failed for good.
 * - `gone`: 410; the receiver is gone, the instance's webhook is switched off.
 * - `retry`: 408, 429, 3xx, 5xx, a timeout or a network error; try again later
 *   (`retryAfterMs` when the receiver said when).
 */
export type AttemptOutcome = 'delivered' | 'rejected' | 'gone' | 'retry';

export interface AttemptResult {
  outcome: AttemptOutcome;
  statusCode: number | null;
  error: string | null;
  at: number;
  durationMs: number;
  retryAfterMs?: number;
}

export interface WebhookSenderOptions {
  /** Refuse private, loopback and link-local receivers (WEBHOOK_PRIVATE_URLS=deny), checked on the connected address. */
  denyPrivate: boolean;
  /** Which addresses count as private (tests narrow it). */
  isPrivate?: (address: string) => boolean;
  timeoutMs?: number;
}

export function classify(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return 'rejected';
  return 'retry';
}

export function createWebhookSender(options: WebhookSenderOptions) {
  const timeoutMs = options.timeoutMs ?? ATTEMPT_TIMEOUT_MS;
  const agent = guardedAgent({
    denyPrivate: options.denyPrivate && { doing: 'deliver to', setting: 'WEBHOOK_PRIVATE_URLS=deny' },
    isPrivate: options.isPrivate,
    timeoutMs,
  });

  return {
    async attempt(url: string, secret: string | null, envelope: Envelope): Promise<AttemptResult> {
      const body = JSON.stringify(envelope);
      const at = Date.now();
      const headers = {
        'content-type': 'application/json',
        'user-agent': 'wa-gateway-webhooks/0.1',
        ...webhookHeaders(envelope.id, body, secret, Math.floor(at / 1000)),
      };
      const signal = AbortSignal.timeout(timeoutMs);
      try {
        const response = await request(url, { method: 'POST', headers, body, signal, dispatcher: agent, maxRedirections: 0 });
        const text = await readPrefix(response.body, MAX_RESPONSE_BYTES);
        const outcome = classify(response.statusCode);
        const result: AttemptResult = { outcome, statusCode: response.statusCode, error: null, at, durationMs: Date.now() - at };
        if (outcome !== 'delivered') result.error = `HTTP ${response.statusCode}${text ? `: ${text.slice(0, 200)}` : ''}`;
        if (response.statusCode === 429 || response.statusCode === 503)
          result.retryAfterMs = parseRetryAfter(response.headers['retry-after'], at);
        return result;
      } catch (err) {
        return { outcome: 'retry', statusCode: null, error: describeFailure(err, signal, timeoutMs), at, durationMs: Date.now() - at };
      }
    },
    close: () => agent.close(),
  };
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;

/** Reads at most `limit` bytes of a body as text, then drops the rest. */
async function readPrefix(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const { bytes } = await readAtMost(body, limit);
  return bytes.toString('utf8').replace(/\s+/g, ' ').trim();
}
