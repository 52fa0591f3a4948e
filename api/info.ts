/** `GET /api/info`: what a client (the dashboard) shows about this gateway: its version and where its Temporal UI is. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Router } from 'express';
import type { Config } from '../config/index.js';
import { packageRoot } from '../lib/entryPoints.js';
import { route } from './route.js';

export const packageVersion: string = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version;

export function infoRouter(config: Pick<Config, 'TEMPORAL_UI_URL' | 'TEMPORAL_NAMESPACE'>): Router {
  const router = Router();
  router.get(
    '/',
    route({}, async () => ({
      version: packageVersion,
      temporalUiUrl: config.TEMPORAL_UI_URL ?? null,
      temporalNamespace: config.TEMPORAL_NAMESPACE,
    })),
  );
  return router;
}
