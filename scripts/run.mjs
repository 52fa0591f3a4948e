// `npm run simulator`, `token`, `api`, `worker`, `bench:*`: installs the dependencies when they are
// missing (as `npm start` does), then runs the TypeScript entry point given (a path from the root)
// with tsx, or its build with NODE_ENV=production (scripts/bootstrap.mjs), passing the rest of the
// arguments on. Extra Node flags may come before the entry point.
import { spawnSync } from 'node:child_process';
import { ensureDependencies, entryArgs, root } from './bootstrap.mjs';

ensureDependencies();
const args = process.argv.slice(2);
const at = args.findIndex((arg) => arg.endsWith('.ts'));
const nodeArgs = [...args.slice(0, at), ...entryArgs(args[at]), ...args.slice(at + 1)];
const result = spawnSync(process.execPath, nodeArgs, {
  cwd: process.cwd(),
  stdio: 'inherit',
  env: { ...process.env, WA_GATEWAY_ROOT: root },
});
process.exit(result.status ?? (result.signal ? 1 : 0));
