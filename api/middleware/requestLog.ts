import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Request, RequestHandler, Response } from 'express';
import { redactUrl, type Logger } from '../../lib/logger.js';

declare module 'http' {
  interface IncomingMessage {
    /** The request's id: the caller's X-Request-Id when it is a sane one, else a new UUID. */
    id: string;
    /** A logger bound to the request's id. */
    log: Logger;
  }
}

const REQUEST_ID = /^[\w.-]{1,64}$/;

/**
 * The gateway's `quiet` requests: reads that succeed, which is what dashboards, monitors and pairing scripts
 * poll. A change, or a request that failed, stays at info.
 */
export const successfulRead = (req: Request, res: Response): boolean =>
  (req.method === 'GET' || req.method === 'HEAD') && res.statusCode < 400;

/**
 * Gives each request an id (echoed as X-Request-Id) and a logger bound to it,
 * and logs one line when the response is finished, in pino-http's shape: at
 * `info`, `debug` for a request `quiet` picks (what is polled), `error` for a
 * 5xx. Nothing is built for a line whose level is off: the send endpoints run
 * hundreds of times a second.
 */
export function requestLog(logger: Logger, options: { quiet?: (req: Request, res: Response) => boolean } = {}): RequestHandler {
  return (req, res, next) => {
    const incoming = req.headers['x-request-id'];
    const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', id);
    req.id = id;
    // A plain property: a getter defined on each request would cost more than the child logger.
    req.log = logger.child({ reqId: id });
    const started = performance.now();
    const url = req.url;
    res.once('finish', () => {
      const level = res.statusCode >= 500 ? 'error' : options.quiet?.(req, res) ? 'debug' : 'info';
      if (!logger.isLevelEnabled(level)) return;
      logger[level](
        {
          req: { id, method: req.method, url: redactUrl(url) },
          res: { statusCode: res.statusCode },
          responseTime: Math.round(performance.now() - started),
        },
        'request completed',
      );
    });
    next();
  };
}
