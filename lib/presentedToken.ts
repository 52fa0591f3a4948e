import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The token a request presents: `Authorization: Bearer`, `X-Api-Key`, or the `?token=` query value given. */
export function presentedToken(headers: IncomingHttpHeaders, queryToken?: unknown): string | undefined {
  const bearer = headers.authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  const apiKey = typeof headers['x-api-key'] === 'string' ? headers['x-api-key'].trim() : undefined;
  return bearer || apiKey || (typeof queryToken === 'string' ? queryToken : undefined) || undefined;
}

export const tokenDigest = (value: string) => createHash('sha256').update(value).digest();

/** Whether `presented` is `expected`, compared by digest in constant time. */
export function sameToken(presented: string | undefined, expected: string): boolean {
  return !!presented && timingSafeEqual(tokenDigest(presented), tokenDigest(expected));
}
