/**
 * Bundles the workflow code into one file: `node --import tsx worker/bundleWorkflows.ts OUT.js`, or
 * `node dist/worker/bundleWorkflows.js OUT.js` (`npm run build`, which bundles the compiled workflows).
 * Workers from the sources bundle in a short-lived child process (or use WORKFLOW_BUNDLE) so webpack's
 * memory never stays in a worker; compiled workers use the build's bundle.
 */
import { writeFileSync } from 'node:fs';
import { bundleWorkflowCode } from '@temporalio/worker';
import { entryPoint } from '../lib/entryPoints.js';

const out = process.argv[2];
if (!out) {
  process.stderr.write('usage: bundleWorkflows OUT.js\n');
  process.exit(2);
}
const { code } = await bundleWorkflowCode({
  workflowsPath: entryPoint('workflows/index'),
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
