import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { Unauthorized } from '../../lib/errors.js';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The presented token, from `Authorization: Bearer`, `X-Api-Key` or `?token=`. */
export function presentedToken(req: Parameters<RequestHandler>[0]): string | undefined {
  const authorization = req.get('authorization');
  const bearer = authorization?.match(/^Bearer\s+(.+)$/i)?.[1]?.trim();
  const query = typeof req.query.token === 'string' ? req.query.token : undefined;
  return bearer || req.get('x-api-key')?.trim() || query || undefined;
}

/** Accepts requests whose token matches; compares digests in constant time. */
export function requireToken(apiToken: string): RequestHandler {
  const expected = digest(apiToken);
  return (req, res, next) => {
    const token = presentedToken(req);
    const presented = token ? digest(token) : undefined;
    if (!presented || !timingSafeEqual(presented, expected)) throw new Unauthorized();
    res.locals.tokenDigest = presented.toString('hex').slice(0, 32);
    next();
  };
}
