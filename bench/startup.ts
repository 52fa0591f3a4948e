/**
 * Start-up time and idle memory of `npm start` (the whole one-machine stack),
 * on a fresh DATA_DIR with the Temporal CLI already cached.
 *
 *   npm run bench:startup
 *
 * Prints time to "ready", then the proportional resident memory (PSS) of every process in
 * the stack after it has idled for a while, with one connected-but-unpaired
 * session (the default instance showing a QR) when WA_WS_URL is reachable.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../stack/ports.js';
import { processTree } from './support/processes.js';

const IDLE_SECONDS = Number(process.argv[2] ?? 15);

function rssOf(pid: number): { name: string; rssMb: number } | undefined {
  try {
    // PSS: shared pages (Postgres's shared buffers, libraries) divided among the processes that map them.
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const rssKb = Number(rollup.match(/^Pss:\s+(\d+)/m)?.[1] ?? 0);
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    const name =
      cmd.find((part) => /main\.ts|start\.mjs/.test(part)) ??
      cmd.find((part) => /temporal$|postgres$/.test(part))?.replace(/.*\//, '') ??
      cmd.join(' ');
    return { name: `${name} (${pid})`, rssMb: rssKb / 1024 };
  } catch {
    return undefined;
  }
}

const dataDir = mkdtempSync(join(tmpdir(), 'wa-bench-'));
const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
const started = Date.now();
const stack = spawn('npm', ['start'], {
  env: {
    ...process.env,
    DATA_DIR: dataDir,
    PORT: String(port),
    TEMPORAL_DEV_PORT: String(temporalPort),
    TEMPORAL_UI_PORT: String(uiPort),
    LOG_LEVEL: 'warn',
    API_TOKEN: 'bench-token-0123456789',
  },
  stdio: ['ignore', 'pipe', 'inherit'],
  detached: true,
});
let output = '';
await new Promise<void>((resolve, reject) => {
  stack.stdout!.on('data', (chunk) => {
    output += chunk;
    if (output.includes('[stack] ready in')) resolve();
  });
  stack.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
});
const readyMs = Date.now() - started;
const reported = output.match(/ready in ([\d.]+) s/)?.[1];

await fetch(`http://127.0.0.1:${port}/api/instance/default/connect`, {
  method: 'POST',
  headers: { 'x-api-key': 'bench-token-0123456789' },
});
await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));

const rows = processTree(stack.pid!)
  .map(rssOf)
  .filter((r): r is NonNullable<typeof r> => !!r && r.rssMb > 1);
const total = rows.reduce((sum, r) => sum + r.rssMb, 0);
console.log(`npm start, fresh DATA_DIR, Temporal CLI cached`);
console.log(`  ready after        ${(readyMs / 1000).toFixed(1)} s (wall clock from spawn; the stack reports ${reported} s)`);
console.log(`  proportional resident memory (PSS) after ${IDLE_SECONDS} s idle, by process:`);
for (const r of rows.sort((a, b) => b.rssMb - a.rssMb)) console.log(`    ${r.rssMb.toFixed(0).padStart(5)} MB  ${r.name}`);
console.log(`    ${total.toFixed(0).padStart(5)} MB  total`);

process.kill(-stack.pid!, 'SIGINT');
await new Promise((r) => stack.once('exit', r));
rmSync(dataDir, { recursive: true, force: true });
