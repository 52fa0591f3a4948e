/**
 * The dashboard at `/`: the static files `npm run build:web` writes to
 * web/dist/ (npm start and the Docker build make them). It is a client of the
 * public REST API like any other, so it needs nothing else from the server.
 * Files, not API routes: middleware, outside the OpenAPI document.
 */
import { join } from 'node:path';
import express, { Router } from 'express';
import { packageRoot } from '../lib/entryPoints.js';

const DIR = join(packageRoot, 'web', 'dist');

// Its own scripts, styles and images only (the QR is a data: URI), and calls to this origin.
const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'";

export function dashboardRouter(): Router {
  const router = Router();
  const files = express.static(DIR, {
    index: 'index.html',
    setHeaders(res, path) {
      // The page names its hashed assets: it is asked for again each time, they are kept.
      if (path.endsWith('.html')) {
        res.setHeader('Cache-Control', 'no-cache');
        res.setHeader('Content-Security-Policy', CSP);
      } else res.setHeader('Cache-Control', 'public, max-age=31536000, immutable');
    },
  });
  router.use((req, res, next) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return next();
    if (req.path === '/' || req.path.startsWith('/assets/')) return files(req, res, next);
    next();
  });
  // Reached for `/` only when web/dist/ has no index.html.
  router.use((req, res, next) => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || req.path !== '/') return next();
    res.status(503).type('text').send('The dashboard is not built: run `npm run build:web` (npm start builds it).\n');
  });
  return router;
}
