import type { RequestHandler } from 'express';
import type { Db } from '../../db/knex.js';
import { forgetFullBuckets, takeToken } from '../../db/rateLimits.js';
import { TooManyRequests } from '../../lib/errors.js';

/**
 * A token bucket per API token, kept in Postgres so that the limit holds
 * across every API process: it holds `perMinute` requests and refills at
 * `perMinute` a minute, continuously. A burst of the whole limit passes, and
 * then requests at the refill rate: at most `perMinute` plus what refilled in
 * any stretch of time (fixed calendar minutes let twice the limit through
 * across a boundary). One upsert per request; a refused request takes no
 * token.
 */
export function rateLimit(db: Db, perMinute: number): RequestHandler {
  let lastCleanup = 0;
  return async (_req, res, next) => {
    if (perMinute <= 0) return next();
    const bucket: string = res.locals.tokenDigest;
    const { tokens, allowed } = await takeToken(db, bucket, perMinute);
    res.setHeader('X-RateLimit-Limit', String(perMinute));
    res.setHeader('X-RateLimit-Remaining', String(Math.max(0, Math.floor(tokens))));
    if (Date.now() - lastCleanup > 60_000) {
      lastCleanup = Date.now();
      void forgetFullBuckets(db).catch(() => {});
    }
    // The wait until one token has refilled.
    if (!allowed) throw new TooManyRequests(Math.max(1, Math.ceil(((1 - tokens) * 60) / perMinute)));
    next();
  };
}
