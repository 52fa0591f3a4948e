/**
 * One webhook attempt: POST the event's envelope to the instance's URL with
 * the Standard Webhooks headers, bounded in time (10 s for the whole attempt)
 * and in what is read back (a short prefix of the body), redirects not
 * followed. The answer is classified for the retry policy.
 */
import { Agent, buildConnector, request } from 'undici';
import { isPrivateAddress } from '../media/safeFetch.js';
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

export class PrivateAddressRefused extends Error {}

export function classify(status: number): AttemptOutcome {
  if (status >= 200 && status < 300) return 'delivered';
  if (status === 410) return 'gone';
  if (status >= 400 && status < 500 && status !== 408 && status !== 429) return 'rejected';
  return 'retry';
}

export function createWebhookSender(options: WebhookSenderOptions) {
  const isPrivate = options.isPrivate ?? isPrivateAddress;
  const timeoutMs = options.timeoutMs ?? ATTEMPT_TIMEOUT_MS;
  const connect = buildConnector({ timeout: timeoutMs });
  const agent = new Agent({
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 4_000,
    connections: 64,
    connect: (opts, callback) =>
      connect(opts, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error('connection failed'), null);
        const address = socket.remoteAddress ?? '';
        if (options.denyPrivate && isPrivate(address)) {
          socket.destroy();
          return callback(
            new PrivateAddressRefused(`refusing to deliver to a private address (${address}); WEBHOOK_PRIVATE_URLS=deny`),
            null,
          );
        }
        callback(null, socket);
      }),
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
        return { outcome: 'retry', statusCode: null, error: describe(err, signal, timeoutMs), at, durationMs: Date.now() - at };
      }
    },
    close: () => agent.close(),
  };
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;

/** Reads at most `limit` bytes of a body as text, then drops the rest (and the connection, if more was coming). */
async function readPrefix(body: AsyncIterable<Buffer> & { destroy(): void }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= limit) {
        body.destroy();
        break;
      }
    }
  } catch {
    // A body cut off (timeout, reset) after the status line: the status is what counts.
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8').replace(/\s+/g, ' ').trim();
}

function describe(err: unknown, signal: AbortSignal, timeoutMs: number): string {
  if (signal.aborted) return `no answer within ${timeoutMs / 1000} s`;
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err instanceof PrivateAddressRefused || e.cause instanceof PrivateAddressRefused) return (e.cause as Error)?.message ?? e.message!;
  const code = e.code ?? e.cause?.code;
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return `DNS lookup failed (${code})`;
  if (code === 'ECONNREFUSED') return 'connection refused';
  if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'UND_ERR_CONNECT_TIMEOUT')
    return `no answer within ${timeoutMs / 1000} s`;
  return `${code ? `${code}: ` : ''}${e.message ?? String(err)}`;
}
