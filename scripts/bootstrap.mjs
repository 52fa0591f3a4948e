// Runs before dependencies exist: installs them (npm ci) when they are missing
// or older than package-lock.json, and says how to run an entry point. No imports beyond Node's own.
import { existsSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

/**
 * With NODE_ENV=production, `npm start` and `npm run api|worker|token` run the JavaScript that
 * `npm run build` wrote to dist/, with plain node; otherwise the TypeScript sources, with tsx.
 */
export const production = process.env.NODE_ENV === 'production';

export function ensureDependencies() {
  const installed = `${root}/node_modules/.package-lock.json`;
  const lock = `${root}/package-lock.json`;
  // tsx is a development dependency: production runs without it.
  const missing = !existsSync(installed) || (!production && !existsSync(`${root}/node_modules/tsx`));
  const stale = missing || statSync(lock).mtimeMs > statSync(installed).mtimeMs;
  if (!stale) return;
  process.stdout.write('[stack] installing npm dependencies (npm ci, one time)...\n');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`[stack] npm ci failed (exit ${result.status})\n`);
    process.exit(result.status ?? 1);
  }
}

/**
 * The Node arguments that run `entry`, a TypeScript entry point named from the root (`api/main.ts`): its
 * compiled file in production, else the source with tsx. The build leaves out what only development
 * runs (the simulator, the demo, the benchmarks): those run from the sources in both.
 */
export function entryArgs(entry) {
  if (production) {
    if (!existsSync(join(root, 'dist'))) {
      process.stderr.write('[stack] NODE_ENV=production runs the build in dist/, which is missing: run `npm run build` first\n');
      process.exit(1);
    }
    const compiled = join(root, 'dist', entry.replace(/\.ts$/, '.js'));
    if (existsSync(compiled)) return [compiled];
  }
  return ['--import', 'tsx', join(root, entry)];
}

/** The newest modification time of a file under `path`. */
const newest = (path) =>
  statSync(path).isDirectory() ? Math.max(0, ...readdirSync(path).map((name) => newest(join(path, name)))) : statSync(path).mtimeMs;

/**
 * The dashboard's files (web/dist/, which the API serves at `/`), built with Vite when missing or older
 * than its sources. In production they come with `npm run build` (Vite is a development dependency).
 */
export function ensureDashboard() {
  const built = join(root, 'web', 'dist', 'index.html');
  if (production) {
    if (!existsSync(built)) process.stderr.write('[stack] the dashboard is not built (web/dist/): `npm run build` builds it\n');
    return;
  }
  // It also takes the pure rules it shares with the API from domain/ (the recipients' rule).
  const sources = [...['src', 'index.html', 'vite.config.ts'].map((name) => join(root, 'web', name)), join(root, 'domain')].map(newest);
  if (existsSync(built) && statSync(built).mtimeMs >= Math.max(...sources)) return;
  process.stdout.write('[stack] building the dashboard (web/dist/)...\n');
  if (!buildDashboard()) process.stderr.write('[stack] building the dashboard failed: the API serves without it\n');
}

/**
 * Builds the dashboard with Vite beside web/dist/ and then puts it in place, so that an API serving
 * web/dist/ meanwhile (another test, a running gateway) never finds it half written. True when built.
 */
export function buildDashboard() {
  const web = join(root, 'web');
  const fresh = `dist.build-${process.pid}`;
  const result = spawnSync(
    process.execPath,
    [join(root, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'web/vite.config.ts', '--outDir', fresh],
    { cwd: root, stdio: 'inherit' },
  );
  if (result.status !== 0) {
    rmSync(join(web, fresh), { recursive: true, force: true });
    return false;
  }
  const old = join(web, `dist.old-${process.pid}`);
  if (existsSync(join(web, 'dist'))) renameSync(join(web, 'dist'), old);
  renameSync(join(web, fresh), join(web, 'dist'));
  rmSync(old, { recursive: true, force: true });
  return true;
}
