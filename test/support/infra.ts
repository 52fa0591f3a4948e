/**
 * The real services tests run against: an embedded Postgres and a Temporal dev
 * server on free ports. `npm test` starts them once and passes their addresses
 * in TEST_PG_URL / TEST_TEMPORAL_ADDRESS; a test file run alone starts its own.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../../stack/postgres.js';
import { ensureTemporalCli, startTemporalDevServer } from '../../stack/temporal.js';

export interface Infra {
  /** Admin URL of the Postgres server (database `postgres`). */
  pgUrl: string;
  temporalAddress: string;
  /** The workflow bundle, built once for every worker the tests start (WORKFLOW_BUNDLE). */
  workflowBundle: string;
  stop(): Promise<void>;
}

export async function startInfra(log: (line: string) => void = () => {}, options: { postgresSettings?: Record<string, string> } = {}): Promise<Infra> {
  const dir = mkdtempSync(join(tmpdir(), 'wa-gateway-test-'));
  const workflowBundle = join(dir, 'workflows.js');
  const bundled = buildWorkflowBundle(workflowBundle);
  const postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'postgres'), database: 'postgres', log, settings: options.postgresSettings });
  const cli = ensureTemporalCli(process.env.TEMPORAL_CLI || undefined, log);
  const temporal = await startTemporalDevServer({ cli, uiPort: null, logFile: join(dir, 'temporal.log') });
  await bundled;
  const started: Infra = {
    pgUrl: postgres.url,
    temporalAddress: temporal.address,
    workflowBundle,
    async stop() {
      await temporal.stop();
      await postgres.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  // Gateways started later in this process (startGateway) use these, not a second set.
  shared ??= Promise.resolve(started);
  return started;
}

/** Workers would each bundle the workflows at start (seconds of CPU); tests share one bundle. */
async function buildWorkflowBundle(out: string): Promise<void> {
  const bundler = fileURLToPath(new URL('../../worker/bundleWorkflows.ts', import.meta.url));
  await promisify(execFile)(process.execPath, ['--import', 'tsx', bundler, out], { maxBuffer: 16 * 1024 * 1024 });
}

let shared: Promise<Infra> | undefined;

/** The suite's services: the ones `npm test` started, or this file's own. */
export function infra(): Promise<Infra> {
  const { TEST_PG_URL, TEST_TEMPORAL_ADDRESS, TEST_WORKFLOW_BUNDLE } = process.env;
  if (TEST_PG_URL && TEST_TEMPORAL_ADDRESS && TEST_WORKFLOW_BUNDLE) {
    return Promise.resolve({ pgUrl: TEST_PG_URL, temporalAddress: TEST_TEMPORAL_ADDRESS, workflowBundle: TEST_WORKFLOW_BUNDLE, stop: async () => {} });
  }
  shared ??= startInfra();
  return shared;
}

/** A fresh database on the test Postgres server; its URL. */
export async function createDatabase(prefix: string): Promise<string> {
  const { pgUrl } = await infra();
  const name = `${prefix.replace(/\W/g, '_').toLowerCase()}_${Math.random().toString(36).slice(2, 8)}`;
  const admin = new pg.Client({ connectionString: pgUrl });
  await admin.connect();
  await admin.query(`create database "${name}"`);
  await admin.end();
  const url = new URL(pgUrl);
  url.pathname = `/${name}`;
  return url.toString();
}
