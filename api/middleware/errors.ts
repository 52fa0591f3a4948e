import type { ErrorRequestHandler, RequestHandler } from 'express';
import type { ErrorCode } from '../../lib/errorCodes.js';
import { HttpError, NotFound, PayloadTooLarge, Unavailable, BadRequest } from '../../lib/errors.js';

const DB_UNAVAILABLE_CODES = new Set([
  // A query past its bound (db/knex.ts): the statement or lock timeout on the server.
  '57014',
  '55P03',
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  '57P01',
  '57P02',
  '57P03',
  '08000',
  '08001',
  '08003',
  '08006',
]);

/** Translates what infrastructure throws into the errors the API answers with. */
export function toHttpError(err: unknown): HttpError | undefined {
  if (err instanceof HttpError) return err;
  const e = err as { type?: string; name?: string; code?: string | number; message?: string; cause?: unknown };
  if (e?.type === 'entity.parse.failed') return new BadRequest('malformed JSON body', 'MALFORMED_JSON');
  if (e?.type === 'entity.too.large') return new PayloadTooLarge();
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported') return new BadRequest('unsupported body encoding');
  // The router could not decode a path segment (`%E0%A4%A`).
  if (err instanceof URIError || /^Failed to decode param/.test(e?.message ?? '')) {
    return new BadRequest('the path has a malformed percent-escape', 'MALFORMED_PATH');
  }
  // What the body parsers refuse with a client error of their own: a body that is not the gzip it claims to be, ...
  const status = (err as { status?: unknown; expose?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: unknown }).expose === true) {
    return new HttpError(status, status === 400 ? 'BAD_REQUEST' : 'CLIENT_ERROR', `the request body could not be read: ${e.message}`);
  }
  if (
    e?.name === 'KnexTimeoutError' ||
    (typeof e?.code === 'string' && DB_UNAVAILABLE_CODES.has(e.code)) ||
    // pg's own: a lost connection, a query past its bound, a connection that could not be set up in time.
    /Connection terminated|Query read timeout|^timeout expired$/.test(e?.message ?? '')
  ) {
    return new Unavailable('database unavailable', 'DATABASE_UNAVAILABLE');
  }
  if (isTemporalUnavailable(err)) return new Unavailable('Temporal unavailable', 'TEMPORAL_UNAVAILABLE');
  return undefined;
}

function isTemporalUnavailable(err: unknown): boolean {
  for (
    let e = err as { name?: string; code?: number; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    e = e.cause as typeof e, depth++
  ) {
    // gRPC UNAVAILABLE (14) and DEADLINE_EXCEEDED (4), or the client's own connection errors.
    if (e.name === 'ServiceError' || e.name === 'TransportError') return true;
    if (e.code === 14 || e.code === 4) return true;
  }
  return false;
}

/** Text that Postgres cannot store: NUL, or half of a UTF-16 surrogate pair. */
const unstorable = (text: string) => text.includes('\u0000') || !(text as unknown as { isWellFormed(): boolean }).isWellFormed();

/** Where in a parsed body (or query) the first unstorable text is, as a field path; undefined if none. */
function unstorablePath(value: unknown, path: string, depth = 0): string | undefined {
  if (typeof value === 'string') return unstorable(value) ? path || 'body' : undefined;
  if (value === null || typeof value !== 'object' || depth > 32) return undefined;
  for (const [key, inner] of Object.entries(value)) {
    if (unstorable(key)) return path ? `${path} (a key)` : 'a key';
    const found = unstorablePath(inner, path ? `${path}.${key}` : key, depth + 1);
    if (found) return found;
  }
  return undefined;
}

/**
 * Refuses text no message, name or caption can hold (Postgres refuses NUL
 * and unpaired surrogates in text and JSON): a 400 naming the field, before
 * anything is stored.
 */
export const rejectUnstorableText: RequestHandler = (req, _res, next) => {
  const inBody = unstorablePath(req.body, '');
  if (inBody) throw new BadRequest(`${inBody}: text must not contain NUL (\\u0000) or unpaired surrogates`, 'INVALID_TEXT');
  const inQuery = unstorablePath(req.query, '');
  if (inQuery) throw new BadRequest(`${inQuery}: text must not contain NUL (\\u0000) or unpaired surrogates`, 'INVALID_TEXT');
  next();
};

/**
 * A body that would not be read as JSON (another or no Content-Type) is
 * refused with the reason, instead of reaching the route as an empty body
 * ("to is required" for a `to` that was sent). Multipart uploads pass.
 */
export const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody = Number(req.headers['content-length'] ?? 0) > 0 || req.headers['transfer-encoding'] !== undefined;
  if (!hasBody || req.is(['application/json', '+json', 'multipart/form-data'])) return next();
  const type = req.headers['content-type'];
  throw new BadRequest(
    `the body was not read: send it as JSON with Content-Type: application/json (it came ${type ? `as ${type.split(';')[0]}` : 'without a Content-Type'})`,
    'NOT_JSON',
  );
};

export const notFoundHandler: RequestHandler = (req) => {
  throw new NotFound(`no route for ${req.method} ${req.path}`, 'ROUTE_NOT_FOUND');
};

/** The one place errors become responses: `{ error, code }`, never a stack or the request. */
export const errorHandler: ErrorRequestHandler = (err, req, res, _next) => {
  const httpError = toHttpError(err);
  const status = httpError?.status ?? 500;
  if (status >= 500) req.log?.error({ err }, 'request failed');
  else req.log?.info({ status, error: httpError?.message }, 'request rejected');
  if (res.headersSent) return;
  if (httpError && 'retryAfterSeconds' in httpError) res.setHeader('Retry-After', String(httpError.retryAfterSeconds));
  const code: ErrorCode = httpError?.code ?? 'INTERNAL';
  res.status(status).json({ error: httpError?.message ?? 'internal server error', code });
};
