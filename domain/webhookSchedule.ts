/**
 * When a failed webhook delivery is tried again: exponential backoff from
 * `baseMs` (5 s by default), doubling each time up to an hour, with ±20 %
 * jitter so that many instances whose receivers fail together do not all come
 * back at the same instant. With the defaults: 5 s, 10 s, 20 s, 40 s, 80 s,
 * 160 s, 5.3 min, 10.7 min, 21 min, 43 min, then hourly: 33 attempts in 24
 * hours, 7 of them within the first 10 minutes.
 */
export const MAX_BACKOFF_MS = 3_600_000;

/** The pause after the `failures`-th failure in a row (1, 2, ...), without jitter. */
export function backoffMs(failures: number, baseMs = 5_000): number {
  return Math.min(MAX_BACKOFF_MS, baseMs * 2 ** Math.max(0, Math.min(failures - 1, 30)));
}

/** The same with ±20 % jitter (`random` in [0, 1)). */
export function jitteredBackoffMs(failures: number, baseMs = 5_000, random = Math.random): number {
  return Math.round(backoffMs(failures, baseMs) * (0.8 + 0.4 * random()));
}

/**
 * A `Retry-After` header as milliseconds from `now`: delta-seconds or an
 * HTTP date; undefined when absent or unreadable.
 */
export function parseRetryAfter(value: string | string[] | undefined, now = Date.now()): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (!text) return undefined;
  if (/^\s*\d+\s*$/.test(text)) return Number(text) * 1_000;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}
