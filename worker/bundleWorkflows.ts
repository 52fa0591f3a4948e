/**
 * Bundles the workflow code into one file: `node --import tsx worker/bundleWorkflows.ts OUT.js`.
 * Workers bundle in a short-lived child process (or use WORKFLOW_BUNDLE, built
 * into the Docker image) so webpack's memory never stays in a worker.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { bundleWorkflowCode } from '@temporalio/worker';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: bundleWorkflows.ts OUT.js\n');
  process.exit(2);
}
const { code } = await bundleWorkflowCode({
  workflowsPath: fileURLToPath(new URL('../workflows/index.ts', import.meta.url)),
  logger: {
    log() {},
    trace() {},
    debug() {},
    info() {},
    warn: (m) => process.stderr.write(`${m}\n`),
    error: (m) => process.stderr.write(`${m}\n`),
  },
});
writeFileSync(out, code);
