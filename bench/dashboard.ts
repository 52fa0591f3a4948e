/**
 * What the dashboard costs the API process.
 *
 *   npm run bench:dashboard [-- STARTS [WINDOW_SECONDS]]
 *
 * 1. Start-up: after a warm-up start, the API process started STARTS times (5) with the built
 *    dashboard (web/dist/) and as many without it (web/dist/ moved aside, then put back), in turn:
 *    time from spawn to listening, and its proportional resident memory (PSS) 10 s later.
 * 2. In use: one instance paired with the simulator (real Baileys) and a chat with messages; then
 *    for WINDOW_SECONDS (30) each: no browser, Chromium on the Instances page, Chromium on the
 *    instance's page, its webhook delivery log open (the status and that section polling). The API's CPU time and PSS over each window, the
 *    requests the page made, and the first load (bytes of the page's files, time until the
 *    instance list is drawn).
 *
 * Development mode (the sources with tsx, as `npm start` runs them without NODE_ENV=production);
 * build the dashboard first (`npm run build:web`).
 */
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';
import { startApi, startGateway, type Gateway } from '../test/support/gateway.js';
import { startBenchStack } from './support/stack.js';
import { pairThroughApi } from './support/pairing.js';
import { readCpu } from './support/cpu.js';
import { median, progress, ratio } from './support/stats.js';

const STARTS = Number(process.argv[2] ?? 5);
const WINDOW_MS = Number(process.argv[3] ?? 30) * 1000;
const root = resolve(import.meta.dirname, '..');
const DIST = join(root, 'web', 'dist');
const ASIDE = join(root, 'web', 'dist.bench-aside');
const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));
const OWNER = '905559100001';
const FRIEND = '905559100002';

if (!existsSync(join(DIST, 'index.html'))) throw new Error('web/dist is not built: run `npm run build:web` first');
if (existsSync(ASIDE)) throw new Error(`${ASIDE} exists: an earlier run stopped before putting web/dist back; move it back to web/dist`);
if (!CHROMIUM) throw new Error('Chromium is not installed (apt-get install -y chromium)');

const pssMb = (pid: number) => Number(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8').match(/^Pss:\s+(\d+)/m)?.[1] ?? 0) / 1024;
const cpuMs = (pid: number) => readCpu(pid).get(pid)?.ms ?? NaN;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Starts a second API process on the gateway's database: ms to listening, and its PSS 10 s later. */
async function startOnce(gw: Gateway): Promise<{ ms: number; pss: number }> {
  const began = Date.now();
  const { proc } = await startApi(gw.env);
  const ms = Date.now() - began;
  await sleep(10_000);
  const pss = pssMb(proc.child.pid!);
  await proc.stop();
  return { ms, pss };
}

/**
 * One warm-up start, then starts with and without web/dist taken in turn (so that what else the
 * machine does falls on both alike); web/dist is put back whatever happens.
 */
async function starts(gw: Gateway) {
  const withDashboard: Array<{ ms: number; pss: number }> = [];
  const without: Array<{ ms: number; pss: number }> = [];
  await startOnce(gw);
  for (let i = 0; i < STARTS; i++) {
    withDashboard.push(await startOnce(gw));
    renameSync(DIST, ASIDE);
    try {
      without.push(await startOnce(gw));
    } finally {
      renameSync(ASIDE, DIST);
    }
    progress(`start-up: ${i + 1} of ${STARTS} pairs`);
  }
  return { withDashboard, without };
}

const stack = await startBenchStack();
let gw: Gateway | undefined;
stack.atStop(() => gw?.stop());
try {
  gw = await startGateway({ name: 'bench_dashboard', workers: 1, workerEntry: 'worker/main.ts', env: stack.gatewayEnv });
  const { withDashboard, without } = await starts(gw);

  progress('pairing an instance and writing in its chat');
  await pairThroughApi(gw, stack.sim, 'shop', OWNER, 'Shop');
  await stack.sim.call('addUser', FRIEND, 'Friend');
  for (let i = 0; i < 5; i++) {
    const sent = await gw.request('/api/instance/shop/messages/chat', { method: 'POST', json: { to: FRIEND, body: `hello ${i}` } });
    if (sent.status !== 200) throw new Error(`send answered ${sent.status}`);
  }
  const apiPid = gw.api.child.pid!;
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  stack.atStop(() => browser.close());

  /** The API's CPU and PSS over a window, with `page` (if any) open; the requests it made. */
  const watch = async (requests: () => number) => {
    const before = cpuMs(apiPid);
    const asked = requests();
    await sleep(WINDOW_MS);
    return { cpuPercent: ((cpuMs(apiPid) - before) / WINDOW_MS) * 100, pss: pssMb(apiPid), requests: requests() - asked };
  };
  await sleep(5_000);
  progress(`idle API, no browser (${WINDOW_MS / 1000} s)`);
  const idle = await watch(() => 0);

  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  const page = await context.newPage();
  let requests = 0;
  let fileBytes = 0;
  page.on('request', (r) => void (r.url().includes('/api/') && requests++));
  page.on('response', async (r) => {
    if (!r.url().includes('/api/'))
      fileBytes += Number((await r.allHeaders())['content-length'] ?? (await r.body().catch(() => Buffer.alloc(0))).length);
  });
  const loadStarted = Date.now();
  await page.goto(`${gw.baseUrl}/`);
  await page.getByLabel(/API token/).fill(gw.token);
  await page.getByLabel(/API token/).press('Enter');
  await page.locator('[data-instance="shop"]').waitFor();
  const firstLoadMs = Date.now() - loadStarted;
  progress(`Instances page open (${WINDOW_MS / 1000} s)`);
  const instancesPage = await watch(() => requests);
  await page.goto(`${gw.baseUrl}/#/instances/shop/webhooks`);
  await page.locator('[role="tabpanel"]#webhooks').waitFor({ timeout: 10_000 });
  progress(`the instance's page open (${WINDOW_MS / 1000} s)`);
  const instancePage = await watch(() => requests);
  await context.close();

  const row = (cells: string[]) => console.log(cells.map((c, i) => (i ? c.padStart(16) : c.padEnd(34))).join(''));
  console.log(`\nAPI start-up (development mode, ${STARTS} starts each, in turn; PSS 10 s after listening)\n`);
  row(['', 'with web/dist', 'without', 'with / without']);
  const compare = (label: string, of: (m: { ms: number; pss: number }) => number, digits: number) => {
    const [a, b] = [median(withDashboard.map(of)), median(without.map(of))];
    row([label, a.toFixed(digits), b.toFixed(digits), ratio(a / b)]);
  };
  compare('spawn to listening (ms, median)', (m) => m.ms, 0);
  compare('API PSS (MB, median)', (m) => m.pss, 1);
  console.log(`\nThe API while the dashboard is open (one paired instance; ${WINDOW_MS / 1000} s windows)\n`);
  row(['', 'no browser', 'Instances page', 'instance page']);
  row(['API CPU (% of a core)', idle.cpuPercent.toFixed(2), instancesPage.cpuPercent.toFixed(2), instancePage.cpuPercent.toFixed(2)]);
  row(['API PSS after (MB)', idle.pss.toFixed(1), instancesPage.pss.toFixed(1), instancePage.pss.toFixed(1)]);
  row([
    'API requests per minute',
    '0',
    ((instancesPage.requests / WINDOW_MS) * 60_000).toFixed(0),
    ((instancePage.requests / WINDOW_MS) * 60_000).toFixed(0),
  ]);
  console.log(
    `\nfirst load: ${(fileBytes / 1024).toFixed(1)} KB of files (uncompressed), signed in and the list drawn in ${firstLoadMs} ms`,
  );
} finally {
  await stack.stop();
}
