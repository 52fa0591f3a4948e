// `npm run simulator`, `token`, `api`, `worker`, `bench:*`: installs the dependencies when they are
// missing (as `npm start` does), then runs the TypeScript entry point given with tsx, passing the
// rest of the arguments on. Extra Node flags may come before the entry point.
import { spawnSync } from 'node:child_process';
import { ensureDependencies, root } from './bootstrap.mjs';

ensureDependencies();
const args = process.argv.slice(2);
const result = spawnSync(process.execPath, ['--import', 'tsx', ...args], {
  cwd: process.cwd(),
  stdio: 'inherit',
  env: { ...process.env, WA_GATEWAY_ROOT: root },
});
process.exit(result.status ?? (result.signal ? 1 : 0));
