// Runs before dependencies exist: installs them (npm ci) when they are missing
// or older than package-lock.json. No imports beyond Node's own.
import { existsSync, statSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('..', import.meta.url));

export function ensureDependencies() {
  const installed = `${root}/node_modules/.package-lock.json`;
  const lock = `${root}/package-lock.json`;
  const stale = !existsSync(installed) || !existsSync(`${root}/node_modules/tsx`) || statSync(lock).mtimeMs > statSync(installed).mtimeMs;
  if (!stale) return;
  process.stdout.write('[stack] installing npm dependencies (npm ci, one time)...\n');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    process.stderr.write(`[stack] npm ci failed (exit ${result.status})\n`);
    process.exit(result.status ?? 1);
  }
}
