import { fork, type ChildProcess } from 'node:child_process';
import { stopProcess } from './temporal.js';
import { NODE_FLAGS } from '../lib/nodeFlags.js';
import { LOADER_FLAGS } from '../lib/entryPoints.js';

export interface Service {
  name: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/** A child that ran this long before it exited counts as having worked: its next restart comes after a second. */
const STABLE_AFTER_MS = 60_000;

/**
 * Runs one of the gateway's processes (`entryPoint('api/main')`, lib/entryPoints.ts) as a child, in
 * the working directory of this one, restarting it if it crashes.
 */
export function runService(
  name: string,
  entry: string,
  env: NodeJS.ProcessEnv,
  hooks: { onMessage?: (message: unknown) => void; log: (line: string) => void; restart?: boolean },
): Service {
  let stopping = false;
  let child: ChildProcess;
  let restarts = 0;
  const start = () => {
    const startedAt = Date.now();
    child = fork(entry, [], { env, execArgv: [...LOADER_FLAGS, ...NODE_FLAGS], stdio: 'inherit' });
    child.on('message', (message) => hooks.onMessage?.(message));
    child.on('exit', (code, signal) => {
      if (stopping) return;
      // A child that ran a while is restarted at once: the delay only grows while it keeps failing quickly.
      if (Date.now() - startedAt > STABLE_AFTER_MS) restarts = 0;
      const delay = Math.min(30_000, 1_000 * 2 ** restarts++);
      hooks.log(`${name} exited (${signal ?? `code ${code}`}); restarting in ${delay / 1000} s`);
      if (hooks.restart !== false) setTimeout(() => !stopping && start(), delay).unref();
    });
  };
  start();
  return {
    name,
    get child() {
      return child;
    },
    async stop() {
      stopping = true;
      await stopProcess(child, 15_000);
    },
  };
}
