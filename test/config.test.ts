import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { loadConfig } from '../config/index.js';

test('defaults follow the contract', () => {
  const config = loadConfig({});
  assert.equal(config.PORT, 3000);
  assert.equal(config.RATE_LIMIT_PER_MINUTE, 200);
  assert.equal(config.TEMPORAL_NAMESPACE, 'default');
  assert.equal(config.DATA_DIR, './data');
  assert.equal(config.PUBLIC_URL, 'http://localhost:3000');
  assert.equal(config.API_TOKEN, undefined);
  assert.deepEqual(config.WORKER_ROLES, ['general', 'sessions']);
  // Unset: readable on a terminal, JSON otherwise (lib/logFormat.ts).
  assert.equal(config.LOG_FORMAT, undefined);
  assert.equal(loadConfig({ LOG_FORMAT: 'json' }).LOG_FORMAT, 'json');
});

test('empty strings count as unset and 0 turns the rate limit off', () => {
  const config = loadConfig({ PORT: '', API_TOKEN: '', RATE_LIMIT_PER_MINUTE: '0', PUBLIC_URL: 'https://gw.example.com/' });
  assert.equal(config.PORT, 3000);
  assert.equal(config.API_TOKEN, undefined);
  assert.equal(config.RATE_LIMIT_PER_MINUTE, 0);
  assert.equal(config.PUBLIC_URL, 'https://gw.example.com');
});

test('a bad value is rejected with a message naming it', () => {
  const cases: Array<[Record<string, string>, RegExp]> = [
    [{ PORT: 'eighty' }, /^invalid PORT: /],
    [{ PORT: '70000' }, /^invalid PORT: /],
    [{ API_TOKEN: 'short' }, /^invalid API_TOKEN: must be at least 16 characters/],
    [{ DATABASE_URL: 'not a url' }, /^invalid DATABASE_URL: /],
    [{ TEMPORAL_ADDRESS: 'localhost' }, /^invalid TEMPORAL_ADDRESS: must be host:port/],
    [{ RATE_LIMIT_PER_MINUTE: '-1' }, /^invalid RATE_LIMIT_PER_MINUTE: /],
    [{ LOG_LEVEL: 'loud' }, /^invalid LOG_LEVEL: /],
    [{ LOG_FORMAT: 'text' }, /^invalid LOG_FORMAT: /],
    [{ WORKER_ROLES: 'general,cooking' }, /^invalid WORKER_ROLES/],
    [{ WA_VERSION: '2.3000' }, /^invalid WA_VERSION: /],
  ];
  for (const [env, message] of cases) assert.throws(() => loadConfig(env), { message }, JSON.stringify(env));
});

test('a process started with a bad value exits with a one-line error', () => {
  const run = spawnSync(process.execPath, ['--import', 'tsx', 'api/main.ts'], { env: { ...process.env, PORT: 'x' }, encoding: 'utf8' });
  assert.equal(run.status, 1);
  assert.equal(run.stderr.trim().split('\n').length, 1);
  assert.match(run.stderr, /^configuration error: invalid PORT: /);
});
