/**
 * A Temporal dev server of a test file's own, for the files that freeze or
 * restart it: on a free port, its state in a temporary file, so that `start()`
 * again after a stop resumes the same server.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureTemporalCli, startTemporalDevServer, type RunningTemporal } from '../../stack/temporal.js';
import { freePort } from '../../stack/ports.js';

export interface OwnTemporal {
  /** Starts the server (again), on the same port and state. */
  start(): Promise<RunningTemporal>;
  /** Removes its state (after its last stop). */
  remove(): void;
}

export async function ownTemporal(name: string): Promise<OwnTemporal> {
  const dir = mkdtempSync(join(tmpdir(), `wa-${name}-`));
  const cli = ensureTemporalCli(process.env.TEMPORAL_CLI || undefined, () => {});
  const port = await freePort();
  return {
    start: () => startTemporalDevServer({ cli, port, uiPort: null, dbFile: join(dir, 'temporal.db'), logFile: join(dir, 'temporal.log') }),
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}
