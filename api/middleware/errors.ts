import type { ErrorRequestHandler, RequestHandler } from 'express';
import { HttpError, NotFound, PayloadTooLarge, Unavailable, BadRequest } from '../../lib/errors.js';

const DB_UNAVAILABLE_CODES = new Set([
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
  if (
    e?.name === 'KnexTimeoutError' ||
    (typeof e?.code === 'string' && DB_UNAVAILABLE_CODES.has(e.code)) ||
    /Connection terminated/.test(e?.message ?? '')
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
  res.status(status).json({ error: httpError?.message ?? 'internal server error', code: httpError?.code ?? 'INTERNAL' });
};
