import { createServer, type Server } from 'node:http';
import { registry } from '../lib/metrics.js';
import { presentedToken, sameToken } from '../lib/presentedToken.js';

/** A worker's metrics on their own port (0: none). */
export function serveMetrics(
  port: number,
  token: () => Promise<string | undefined>,
  onError: (err: Error) => void,
): Promise<Server | undefined> {
  if (port === 0) return Promise.resolve(undefined);
  const server = createServer(async (req, res) => {
    if (req.url !== '/metrics') return void res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}');
    const expected = await token().catch(() => undefined);
    if (!expected || !sameToken(presentedToken(req.headers), expected))
      return void res.writeHead(401, { 'content-type': 'application/json' }).end('{"error":"missing or invalid metrics token"}');
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: Error) => res.writeHead(500, { 'content-type': 'application/json' }).end(JSON.stringify({ error: err.message })),
    );
  });
  // A port that is taken (another worker on this machine) costs the metrics, not the worker.
  return new Promise((resolve) => {
    server.once('error', (err) => {
      onError(err);
      resolve(undefined);
    });
    server.listen(port, () => resolve(server));
  });
}
