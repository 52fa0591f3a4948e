import type { RequestHandler } from 'express';
import { preparedQuery, type Db } from '../../db/knex.js';
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
/** The bucket's tokens now: what it held plus the refill since, at most full ($2 is the limit per minute). */
const REFILLED = `least($2::float8, b.tokens + greatest(0, extract(epoch from now() - b.updated_at)) * $2::float8 / 60)`;

export function rateLimit(db: Db, perMinute: number): RequestHandler {
  let lastCleanup = 0;
  return async (_req, res, next) => {
    if (perMinute <= 0) return next();
    const bucket: string = res.locals.tokenDigest;
    const [row] = await preparedQuery<{ tokens: number; allowed: boolean }>(
      db,
      'rate_limit_take',
      // The row lock of the upsert orders concurrent requests: each refills from the state the one before
      // it left (whose time may be a moment after this statement's now(): no negative refill).
      `insert into rate_limit_buckets as b (bucket, tokens, allowed, updated_at)
       values ($1, $2::float8 - 1, true, now())
       on conflict (bucket) do update
         set tokens = case when ${REFILLED} >= 1 then ${REFILLED} - 1 else ${REFILLED} end,
             allowed = ${REFILLED} >= 1,
             updated_at = greatest(now(), b.updated_at)
       returning b.tokens, b.allowed`,
      [bucket, perMinute],
    );
    const { tokens, allowed } = row!;
    res.setHeader('X-RateLimit-Limit', String(perMinute));
    res.setHeader('X-RateLimit-Remaining', String(Math.max(0, Math.floor(tokens))));
    if (Date.now() - lastCleanup > 60_000) {
      lastCleanup = Date.now();
      // A bucket untouched for ten minutes is full again: forgetting it changes nothing.
      void db('rate_limit_buckets')
        .where('updated_at', '<', db.raw("now() - interval '10 minutes'"))
        .delete()
        .catch(() => {});
    }
    // The wait until one token has refilled.
    if (!allowed) throw new TooManyRequests(Math.max(1, Math.ceil(((1 - tokens) * 60) / perMinute)));
    next();
  };
}
