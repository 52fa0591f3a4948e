// A frozen Postgres (SIGSTOP on every one of its processes) costs requests a bounded wait: the API
// answers 503 within a few seconds, and serves again by itself once Postgres is back.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEmbeddedPostgres, type RunningPostgres } from '../stack/postgres.js';
import { infra } from './support/infra.js';
import { eventually, startApi, type Proc } from './support/gateway.js';

// This file freezes Postgres, so it runs its own.
const dir = mkdtempSync(join(tmpdir(), 'wa-pg-freeze-'));
let postgres: RunningPostgres;
let api: { proc: Proc; baseUrl: string };
const token = randomBytes(16).toString('hex');

before(async () => {
  postgres = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), database: 'frozen' });
  const { temporalAddress } = await infra();
  api = await startApi({
    DATABASE_URL: postgres.url,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_NAMESPACE: 'default',
    TASK_QUEUE: `t-pg-freeze-${randomBytes(3).toString('hex')}`,
    API_TOKEN: token,
    RATE_LIMIT_PER_MINUTE: '0',
    DB_QUERY_TIMEOUT_MS: '2000',
    LOG_LEVEL: 'warn',
  });
});
after(async () => {
  signalPostgres('SIGCONT');
  await api?.proc.stop();
  await postgres?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The postmaster (its pid file) and every process it started. */
function postgresPids(): number[] {
  const postmaster = Number(readFileSync(join(dir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[0]);
  const children = readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .filter((pid) => {
      try {
        // The parent pid is the 4th field, after the name in parentheses (which may hold spaces).
        return Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]) === postmaster;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [postmaster, ...children];
}
function signalPostgres(signal: NodeJS.Signals) {
  try {
    for (const pid of postgresPids()) process.kill(pid, signal);
  } catch {
    // Not started, or gone.
  }
}

const call = async (path: string, init: RequestInit = {}) => {
  const started = Date.now();
  const res = await fetch(`${api.baseUrl}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...init.headers },
    signal: AbortSignal.timeout(30_000),
  });
  return { status: res.status, body: (await res.json()) as { error?: string; code?: string }, ms: Date.now() - started };
};

test('with Postgres frozen, requests answer 503 within a few seconds; once it is back, the API serves again by itself', async (t) => {
  assert.equal((await call('/api/instance', { method: 'POST', body: JSON.stringify({ id: 'before' }) })).status, 200);
  signalPostgres('SIGSTOP');
  const answers = await Promise.all([
    call('/api/instance'),
    call('/api/instance/before/status'),
    call('/api/instance', { method: 'POST', body: JSON.stringify({ id: 'during' }) }),
    call('/api/instance/before/messages'),
    call('/api/instance/before/settings'),
    call('/api/instance/before/chatbot/rules'),
  ]);
  signalPostgres('SIGCONT');
  t.diagnostic(`answers while frozen: ${answers.map((a) => `${a.status} in ${a.ms} ms`).join(', ')}`);
  for (const a of answers) {
    assert.equal(a.status, 503, JSON.stringify(a));
    assert.equal(a.body.code, 'DATABASE_UNAVAILABLE');
    assert.ok(a.ms < 8_000, `answered after ${a.ms} ms`);
  }
  const resumed = Date.now();
  await eventually(async () => (await call('/api/instance')).status === 200, 20_000, 'serving again');
  t.diagnostic(`serving again ${Date.now() - resumed} ms after Postgres was back`);
  // Every connection of the pool works again (the ones whose queries timed out were closed).
  const again = await Promise.all(Array.from({ length: 20 }, () => call('/api/instance/before/status')));
  assert.deepEqual(new Set(again.map((a) => a.status)), new Set([200]));
});
