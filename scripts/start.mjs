// `npm start` (and `npm run demo`): the stack's supervisor (stack/main.ts) runs in a process group of its own, with every
// process it starts. Ctrl-C in the terminal then reaches this process only, which passes it on once: the
// supervisor stops the API and workers first (sessions handed over, keys written), then Temporal, then
// Postgres. (In the terminal's group, Postgres got the SIGINT at once and died before the workers.)
// With NODE_ENV=production it runs the build (dist/stack/main.js) with plain node (scripts/bootstrap.mjs).
import { spawn } from 'node:child_process';
import { ensureDashboard, ensureDependencies, entryArgs, root } from './bootstrap.mjs';

ensureDependencies();
ensureDashboard();
// `npm run demo` passes stack/demo.ts (the same stack, pointed at the simulator).
const entry = process.argv[2] ?? 'stack/main.ts';
const supervisor = spawn(process.execPath, entryArgs(entry), {
  cwd: root,
  stdio: 'inherit',
  detached: true,
});
let forwarded = false;
const forward = (signal) => {
  if (forwarded) return;
  forwarded = true;
  supervisor.kill(signal);
};
process.on('SIGINT', () => forward('SIGINT'));
process.on('SIGTERM', () => forward('SIGTERM'));
// The terminal went away: stop as for SIGTERM.
process.on('SIGHUP', () => forward('SIGTERM'));
supervisor.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
