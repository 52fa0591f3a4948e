import { timingSafeEqual } from 'node:crypto';
import type { Request, RequestHandler } from 'express';
import type { Db } from '../../db/knex.js';
import { findToken, type Scope } from '../../db/tokens.js';
import { Forbidden, Unauthorized } from '../../lib/errors.js';
import { presentedToken as tokenFrom, tokenDigest } from '../../lib/presentedToken.js';

/** Who a request speaks for: the admin token, or an instance's token with its scopes. */
export type Access = { admin: true } | { admin: false; tokenId: string; instanceId: string; scopes: Scope[] };
export const accessOf = (res: { locals: Record<string, unknown> }) => res.locals.access as Access;

/** The presented token, from `Authorization: Bearer`, `X-Api-Key` or `?token=`. */
export const presentedToken = (req: Request) => tokenFrom(req.headers, req.query.token);

/**
 * Accepts the admin token (compared by digest in constant time) or a live
 * instance token (looked up by its hash on every request, so a revoked one
 * is refused at once by every API process).
 */
export function requireToken(apiToken: string, db: Db): RequestHandler {
  const expected = tokenDigest(apiToken);
  return async (req, res, next) => {
    const token = presentedToken(req);
    if (!token) throw new Unauthorized();
    const presented = tokenDigest(token);
    // The rate limit's bucket: per token.
    res.locals.tokenDigest = presented.toString('hex').slice(0, 32);
    if (timingSafeEqual(presented, expected)) {
      res.locals.access = { admin: true } satisfies Access;
      return next();
    }
    const found = await findToken(db, presented.toString('hex'));
    if (!found) throw new Unauthorized();
    res.locals.access = { admin: false, tokenId: found.id, instanceId: found.instanceId, scopes: found.scopes } satisfies Access;
    next();
  };
}

/** Routes for the admin token only (instance tokens, creating instances). */
export const adminOnly: RequestHandler = (_req, res, next) => {
  if (!accessOf(res).admin) throw new Forbidden('this needs the admin token', 'ADMIN_ONLY');
  next();
};

/**
 * `/api/instance/:instanceId/...`: an instance token reaches its own
 * instance only (checked before the instance is looked up, so others'
 * names are not revealed), and each request needs its scope.
 */
export const instanceAccess: RequestHandler = (req, res, next) => {
  const access = accessOf(res);
  if (access.admin) return next();
  if (req.params.instanceId !== access.instanceId) {
    throw new Forbidden(`this token is for instance ${access.instanceId} only`, 'WRONG_INSTANCE');
  }
  const needed = scopeNeeded(req);
  if (needed === 'admin') throw new Forbidden('deleting an instance needs the admin token', 'ADMIN_ONLY');
  if (!access.scopes.includes(needed)) throw new Forbidden(`this token lacks the ${needed} scope`, 'MISSING_SCOPE');
  next();
};

/**
 * What an instance route needs: `read` for reads, `send` to send a message,
 * post a status, create a campaign or schedule or show typing (presence), `manage` for the rest (settings,
 * connection, chat actions, rules, media...). `req.path` is below the instance.
 */
export function scopeNeeded(req: Pick<Request, 'method' | 'path'>): Scope | 'admin' {
  const path = req.path.replace(/\/+$/, '') || '/';
  if (req.method === 'DELETE' && path === '/') return 'admin';
  if (req.method === 'GET' || req.method === 'HEAD') return 'read';
  if (req.method === 'POST' && /^\/messages\/(?!clear$)[^/]+$/.test(path)) return 'send';
  if (req.method === 'POST' && /^\/(bulk|scheduled|presence)$/.test(path)) return 'send';
  if (req.method === 'POST' && /^\/status\/(text|image|video)$/.test(path)) return 'send';
  return 'manage';
}
