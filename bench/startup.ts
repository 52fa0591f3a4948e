/**
 * Start-up time and idle memory of `npm start` (the whole one-machine stack),
 * on a fresh DATA_DIR with the Temporal CLI already cached, in development
 * (the sources with tsx) and in production (`npm run build`, then
 * `NODE_ENV=production npm start`: dist/ with plain node).
 *
 *   npm run bench:startup [-- IDLE_SECONDS [dev,production]]
 *
 * Prints, for each mode, time to "ready", then the proportional resident memory (PSS) of every
 * process in the stack after it has idled for IDLE_SECONDS (15), with one connected-but-unpaired
 * session (the default instance showing a QR) when WA_WS_URL is reachable; with both modes, side
 * by side with their ratio. Production is built first (its time is printed too).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../stack/ports.js';
import { processTree } from '../test/support/processes.js';

const IDLE_SECONDS = Number(process.argv[2] ?? 15);
const MODES = (process.argv[3] ?? 'dev,production').split(',') as Mode[];
type Mode = 'dev' | 'production';

interface Measured {
  readyMs: number;
  /** What the stack itself reports ("ready in 5.9 s"). */
  reported: string | undefined;
  /** PSS in MB by role: the launchers, the supervisor, api, worker, temporal, postgres (all its processes). */
  pssMb: Map<string, { mb: number; processes: number }>;
}

/** The role of a process of the stack, from its command line. */
function roleOf(cmd: string[]): string {
  const line = cmd.join(' ');
  if (/start\.mjs/.test(line)) return 'scripts/start.mjs';
  if (/stack\/main\.[jt]s/.test(line)) return 'stack (supervisor)';
  if (/api\/main\.[jt]s/.test(line)) return 'api';
  if (/worker\/main\.[jt]s/.test(line)) return 'worker';
  if (/\/temporal\b/.test(cmd[0] ?? '')) return 'temporal';
  if (/postgres/.test(cmd[0] ?? '')) return 'postgres';
  if (/\bnpm\b/.test(line)) return 'npm';
  return line.slice(0, 60);
}

/** PSS: shared pages (Postgres's shared buffers, libraries) divided among the processes that map them. */
function pssOf(pid: number): { role: string; mb: number } | undefined {
  try {
    const rollup = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
    return { role: roleOf(cmd), mb: Number(rollup.match(/^Pss:\s+(\d+)/m)?.[1] ?? 0) / 1024 };
  } catch {
    return undefined;
  }
}

async function measure(mode: Mode): Promise<Measured> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wa-bench-'));
  const [port, temporalPort, uiPort] = [await freePort(), await freePort(), await freePort()];
  const started = Date.now();
  const stack = spawn('npm', ['start'], {
    env: {
      ...process.env,
      NODE_ENV: mode === 'production' ? 'production' : '',
      DATA_DIR: dataDir,
      PORT: String(port),
      TEMPORAL_DEV_PORT: String(temporalPort),
      TEMPORAL_UI_PORT: String(uiPort),
      LOG_LEVEL: 'warn',
      API_TOKEN: 'bench-token-0123456789',
      WORKFLOW_BUNDLE: '',
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

  await fetch(`http://127.0.0.1:${port}/api/instance/default/connect`, {
    method: 'POST',
    headers: { 'x-api-key': 'bench-token-0123456789' },
  });
  await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));

  const pssMb = new Map<string, { mb: number; processes: number }>();
  for (const row of processTree(stack.pid!).map(pssOf)) {
    if (!row || row.mb < 1) continue;
    const sum = pssMb.get(row.role) ?? { mb: 0, processes: 0 };
    pssMb.set(row.role, { mb: sum.mb + row.mb, processes: sum.processes + 1 });
  }
  process.kill(-stack.pid!, 'SIGINT');
  await new Promise((r) => stack.once('exit', r));
  rmSync(dataDir, { recursive: true, force: true });
  return { readyMs, reported: output.match(/ready in ([\d.]+) s/)?.[1], pssMb };
}

const results = new Map<Mode, Measured>();
for (const mode of MODES) {
  if (mode === 'production') {
    const started = Date.now();
    const build = spawnSync('npm', ['run', '-s', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
    if (build.status !== 0) throw new Error(`npm run build failed (${build.status})`);
    console.log(`npm run build: ${((Date.now() - started) / 1000).toFixed(1)} s`);
  }
  results.set(mode, await measure(mode));
}

const total = (m: Measured) => [...m.pssMb.values()].reduce((sum, r) => sum + r.mb, 0);
const roles = [...new Set([...results.values()].flatMap((m) => [...m.pssMb.keys()]))].sort(
  (a, b) =>
    Math.max(...[...results.values()].map((m) => m.pssMb.get(b)?.mb ?? 0)) -
    Math.max(...[...results.values()].map((m) => m.pssMb.get(a)?.mb ?? 0)),
);
const cell = (text: string) => text.padStart(14);
const ratio = (dev: number | undefined, production: number | undefined) =>
  dev && production !== undefined && results.size === 2 ? cell(`${(production / dev).toFixed(2)}`) : '';
const dev = results.get('dev');
const production = results.get('production');
console.log(`npm start, fresh DATA_DIR, Temporal CLI cached; PSS after ${IDLE_SECONDS} s idle (the machine's other work adds noise)`);
console.log(`${''.padEnd(26)}${MODES.map((mode) => cell(mode)).join('')}${results.size === 2 ? cell('production/dev') : ''}`);
const readyOf = (m: Measured) => `${(m.readyMs / 1000).toFixed(1)} s`;
console.log(
  `${'ready after (wall clock)'.padEnd(26)}${MODES.map((mode) => cell(readyOf(results.get(mode)!))).join('')}${ratio(dev?.readyMs, production?.readyMs)}`,
);
console.log(
  `${'  as the stack reports'.padEnd(26)}${MODES.map((mode) => cell(`${results.get(mode)!.reported} s`)).join('')}${ratio(Number(dev?.reported), Number(production?.reported))}`,
);
for (const role of roles) {
  const label = (m: Measured | undefined) => {
    const r = m?.pssMb.get(role);
    return r ? `${r.mb.toFixed(0)} MB${r.processes > 1 ? ` (${r.processes})` : ''}` : '-';
  };
  console.log(
    `${`  ${role}`.padEnd(26)}${MODES.map((mode) => cell(label(results.get(mode)))).join('')}${ratio(dev?.pssMb.get(role)?.mb, production?.pssMb.get(role)?.mb)}`,
  );
}
console.log(
  `${'  total'.padEnd(26)}${MODES.map((mode) => cell(`${total(results.get(mode)!).toFixed(0)} MB`)).join('')}${ratio(dev && total(dev), production && total(production))}`,
);
