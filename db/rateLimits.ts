/** The API's rate-limit buckets (api/middleware/rateLimit.ts): one row per API token, shared by every API process. */
import { preparedQuery, type Db } from './knex.js';

/** The bucket's tokens now: what it held plus the refill since, at most full ($2 is the limit per minute). */
const REFILLED = `least($2::float8, b.tokens + greatest(0, extract(epoch from now() - b.updated_at)) * $2::float8 / 60)`;

/**
 * Takes a token from the bucket if it holds one, in one upsert: a new bucket
 * starts full. Returns the tokens left and whether one was taken (a refused
 * request takes none).
 */
export async function takeToken(db: Db, bucket: string, perMinute: number): Promise<{ tokens: number; allowed: boolean }> {
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
  return row!;
}

/** A bucket untouched for ten minutes is full again: forgetting it changes nothing. */
export async function forgetFullBuckets(db: Db): Promise<void> {
  await db('rate_limit_buckets').where('updated_at', '<', db.raw("now() - interval '10 minutes'")).delete();
}
