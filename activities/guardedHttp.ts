/**
 * Outgoing HTTP to addresses a user configured (webhook receivers, a flow's
 * `http` step): an undici agent that can refuse private, loopback and
 * link-local addresses, checked on the address actually connected to (so DNS
 * tricks cannot slip through), with bounded times; reading a bounded prefix
 * of an answer; and saying in a few words why a request failed.
 */
import { Agent, buildConnector } from 'undici';
import { isPrivateAddress } from '../media/safeFetch.js';

export class PrivateAddressRefused extends Error {}

export interface GuardedAgentOptions {
  /** Refuse private addresses, saying what was refused (`deliver to`) and which setting allows them. */
  denyPrivate: { doing: string; setting: string } | false;
  /** Which addresses count as private (tests narrow it). */
  isPrivate?: (address: string) => boolean;
  timeoutMs: number;
}

export function guardedAgent({ denyPrivate, isPrivate = isPrivateAddress, timeoutMs }: GuardedAgentOptions): Agent {
  const connect = buildConnector({ timeout: timeoutMs });
  return new Agent({
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
    keepAliveTimeout: 4_000,
    connections: 64,
    connect: (opts, callback) =>
      connect(opts, (err, socket) => {
        if (err || !socket) return callback(err ?? new Error('connection failed'), null);
        const address = socket.remoteAddress ?? '';
        if (denyPrivate && isPrivate(address)) {
          socket.destroy();
          return callback(
            new PrivateAddressRefused(`refusing to ${denyPrivate.doing} a private address (${address}); ${denyPrivate.setting}`),
            null,
          );
        }
        callback(null, socket);
      }),
  });
}

/** Reads at most `limit` bytes of a body, then drops the rest (and the connection, if more was coming); `cut` when there was more. */
export async function readAtMost(
  body: AsyncIterable<Buffer> & { destroy(): void },
  limit: number,
): Promise<{ bytes: Buffer; cut: boolean }> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      chunks.push(chunk);
      size += chunk.length;
      if (size > limit) {
        body.destroy();
        break;
      }
    }
  } catch {
    // A body cut off (timeout, reset) after the status line: the status is what counts.
  }
  return { bytes: Buffer.concat(chunks).subarray(0, limit), cut: size > limit };
}

/** Why a request failed, in a few words. */
export function describeFailure(err: unknown, signal: AbortSignal, timeoutMs: number): string {
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
