// `npm test`: installs what is missing, starts Postgres and a Temporal dev
// server once on free ports, runs every test file against them, and stops
// them by process id.
import { readdirSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { ensureDashboard, ensureDependencies, root } from './bootstrap.mjs';

ensureDependencies();
// The API serves web/dist/ at `/`: every test sees the dashboard built, as `npm start` makes it.
ensureDashboard();
const { register } = await import('tsx/esm/api');
register();
const { startInfra } = await import('../test/support/infra.ts');

const requested = process.argv.slice(2);
const files =
  requested.length > 0
    ? requested
    : readdirSync(`${root}/test`)
        .filter((f) => f.endsWith('.test.ts'))
        .sort()
        .map((f) => `test/${f}`);

const started = Date.now();
const infra = await startInfra((line) => process.stdout.write(`[test] ${line}\n`));
process.stdout.write(`[test] Postgres, Temporal and the workflow bundle ready in ${Date.now() - started} ms\n`);

const child = spawn(
  process.execPath,
  [
    '--import',
    'tsx',
    '--import',
    './test/support/quietSignal.ts',
    '--test',
    '--test-force-exit',
    '--test-reporter=spec',
    '--test-concurrency=2',
    ...files,
  ],
  {
    cwd: root,
    stdio: 'inherit',
    env: {
      ...process.env,
      TEST_PG_URL: infra.pgUrl,
      TEST_TEMPORAL_ADDRESS: infra.temporalAddress,
      TEST_WORKFLOW_BUNDLE: infra.workflowBundle,
    },
  },
);
const stop = () => child.kill('SIGTERM');
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
const code = await new Promise((resolve) => child.once('exit', (c, signal) => resolve(c ?? (signal ? 1 : 0))));
await infra.stop();
process.exit(code);
