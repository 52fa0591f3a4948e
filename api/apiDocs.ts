/**
 * `GET /api/openapi.json` and the interactive docs page at `/api/docs/`
 * (Swagger UI from the swagger-ui-dist package, served from here: no CDN).
 * Both are readable without a token: they hold no data. The page's
 * "Authorize" button takes the token for trying requests.
 */
import { createRequire } from 'node:module';
import express, { Router, type Express } from 'express';
import { routeDocs } from './docs/index.js';
import { packageVersion } from './info.js';
import { openApiDocument } from './openapi.js';

const require = createRequire(import.meta.url);
const swaggerUiDir: string = require('swagger-ui-dist').getAbsoluteFSPath();

// Relative URLs: the page works behind a proxy that mounts the gateway under a prefix.
const PAGE = `<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="UTF-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <title>WhatsApp gateway API</title>
    <link rel="stylesheet" href="./swagger-ui.css">
    <link rel="icon" type="image/png" href="./favicon-32x32.png" sizes="32x32">
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="./swagger-ui-bundle.js"></script>
    <script src="./init.js"></script>
  </body>
</html>
`;

const INIT = `window.ui = SwaggerUIBundle({
  url: new URL('../openapi.json', window.location.href).href,
  dom_id: '#swagger-ui',
  deepLinking: true,
  tryItOutEnabled: true,
  persistAuthorization: false,
});
`;

// Only what the page loads; not the package's own index.html (the petstore demo).
const ASSETS = /^\/(swagger-ui\.css|swagger-ui-bundle\.js|favicon-32x32\.png)$/;

/** The gateway's OpenAPI document: `app`'s routes with their docs. */
export const gatewayDocument = (app: Express) => openApiDocument(app, { version: packageVersion, docs: routeDocs });

/** Mounted at `/api`, before the token check. `app` is walked on the first request, when every route is in place. */
export function apiDocsRouter(app: Express): Router {
  const router = Router();
  let document: ReturnType<typeof gatewayDocument> | undefined;
  router.get('/openapi.json', (_req, res) => {
    document ??= gatewayDocument(app);
    res.json(document);
  });
  router.get('/docs', (req, res) => {
    // `/api/docs` → `/api/docs/`, so the page's relative URLs resolve inside it.
    if (!req.originalUrl.split('?')[0]!.endsWith('/')) return res.redirect(301, `${req.baseUrl}/docs/`);
    res.type('html').send(PAGE);
  });
  // The page's assets are files, not API routes: middleware, outside the document.
  router.use('/docs/init.js', (_req, res) => {
    res.type('js').send(INIT);
  });
  const assets = express.static(swaggerUiDir, { index: false, maxAge: '1h' });
  router.use('/docs', (req, res, next) => (ASSETS.test(req.path) ? assets(req, res, next) : next()));
  return router;
}
