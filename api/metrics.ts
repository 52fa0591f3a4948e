import type { RequestHandler } from 'express';
import { httpDuration, httpRequests, registry } from '../lib/metrics.js';
import { presentedToken, sameToken } from '../lib/presentedToken.js';
import { Unauthorized } from '../lib/errors.js';

/**
 * Counts every request by method, route pattern and status, with its
 * latency. The route is the matched pattern, with the instance as
 * `:instanceId` (never a value: one series per route, not per instance).
 */
export const countRequests: RequestHandler = (req, res, next) => {
  const started = process.hrtime.bigint();
  res.once('finish', () => {
    const pattern = req.route ? `${req.baseUrl}${req.route.path === '/' ? '' : req.route.path}` : undefined;
    const route = pattern ? pattern.replace(/^\/api\/instance\/[^/]+/, '/api/instance/:instanceId') || '/' : 'unmatched';
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    httpRequests.inc({ method: req.method, route, status: String(res.statusCode) });
    httpDuration.observe({ method: req.method, route }, seconds);
  });
  next();
};

/** `GET /metrics`: Prometheus text, for the METRICS_TOKEN (or the admin token) only, as Bearer or X-Api-Key. */
export function metricsRoute(token: string): RequestHandler {
  return async (req, res) => {
    if (!sameToken(presentedToken(req.headers), token)) throw new Unauthorized('missing or invalid metrics token');
    res.type(registry.contentType).send(await registry.metrics());
  };
}
