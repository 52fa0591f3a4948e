import type { RequestHandler } from 'express';
import { preparedQuery, type Db } from '../../db/knex.js';
import { TooManyRequests } from '../../lib/errors.js';

/**
 * Fixed one-minute windows counted in Postgres, so the limit holds for a
 * token across every API process. One upsert per request.
 */
export function rateLimit(db: Db, perMinute: number): RequestHandler {
  let lastCleanup = 0;
  return async (_req, res, next) => {
    if (perMinute <= 0) return next();
    const bucket: string = res.locals.tokenDigest;
    const rows = await preparedQuery<{ count: number; retry_after: string }>(
      db,
      'rate_limit_count',
      `insert into rate_limit_windows (bucket, window_start, count)
       values ($1, date_trunc('minute', now()), 1)
       on conflict (bucket, window_start) do update set count = rate_limit_windows.count + 1
       returning count, ceil(extract(epoch from date_trunc('minute', now()) + interval '1 minute' - now())) as retry_after`,
      [bucket],
    );
    const { count, retry_after } = rows[0]!;
    res.setHeader('X-RateLimit-Limit', String(perMinute));
    res.setHeader('X-RateLimit-Remaining', String(Math.max(0, perMinute - count)));
    if (Date.now() - lastCleanup > 60_000) {
      lastCleanup = Date.now();
      void db('rate_limit_windows')
        .where('window_start', '<', db.raw("now() - interval '5 minutes'"))
        .delete()
        .catch(() => {});
    }
    if (count > perMinute) throw new TooManyRequests(Math.max(1, Number(retry_after)));
    next();
  };
}
