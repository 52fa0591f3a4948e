// `npm run build`: the JavaScript of the gateway's runtime in dist/ (tsc with tsconfig.build.json:
// api, config, db, lib, activities, workflows, worker, temporal, domain, media, whatsapp, stack and `npm run token`; not the
// simulator, tests or benchmarks), and the workflow bundle its workers load, dist/workflows.bundle.js
// (worker/bundleWorkflows.ts, run compiled on the compiled workflows), and the dashboard, web/dist/ (Vite). Needs the dev dependencies
// (TypeScript); what it writes runs with the production ones. Nothing else is read from beside the
// sources at run time (the migrations are modules), so there is nothing to copy.
import { rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { buildDashboard, root } from './bootstrap.mjs';

const dist = join(root, 'dist');
const run = (what, args) => {
  const started = Date.now();
  const result = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`[build] ${what} failed (${result.signal ?? `exit ${result.status}`})\n`);
    process.exit(result.status ?? 1);
  }
  process.stdout.write(`[build] ${what} in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
};

// A module deleted from the sources must not linger in the build.
rmSync(dist, { recursive: true, force: true });
run('compiled into dist/', [createRequire(import.meta.url).resolve('typescript/bin/tsc'), '-p', 'tsconfig.build.json']);
run('bundled the workflows into dist/workflows.bundle.js', [join(dist, 'worker/bundleWorkflows.js'), join(dist, 'workflows.bundle.js')]);
{
  const started = Date.now();
  if (!buildDashboard()) {
    process.stderr.write('[build] building the dashboard failed\n');
    process.exit(1);
  }
  process.stdout.write(`[build] built the dashboard into web/dist/ in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
