// The logs as people read them: one line per event in a terminal (JSON otherwise), and the events Baileys logs
// louder than they are at the level they deserve.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { formatRecord, logFormat, prettyStream } from '../lib/logFormat.js';
import { baileysLogger, deservedLevel } from '../whatsapp/baileys/logger.js';

const at = new Date(2026, 11, 6, 9, 5, 7).getTime();

test('a record as one line: time, level, name (and module), message, then its fields', () => {
  const cases: Array<[Record<string, unknown>, string]> = [
    [
      { level: 30, time: at, name: 'worker', msg: 'session open', instanceId: 'default' },
      '09:05:07 INFO  worker: session open instanceId=default',
    ],
    [
      { level: 40, time: at, name: 'worker', module: 'baileys', msg: 'odd', reason: 'two words', n: 3, ok: true, none: null },
      '09:05:07 WARN  worker/baileys: odd reason="two words" n=3 ok=true none=null',
    ],
    [
      { level: 20, time: at, name: 'api', msg: 'x', queues: { general: 'wa-gateway' } },
      '09:05:07 DEBUG api: x queues={"general":"wa-gateway"}',
    ],
    // The request log's record.
    [
      {
        level: 30,
        time: at,
        name: 'api',
        msg: 'request completed',
        req: { id: 'r1', method: 'POST', url: '/api/x?token=[REDACTED]' },
        res: { statusCode: 200 },
        responseTime: 12,
      },
      '09:05:07 INFO  api: POST /api/x?token=[REDACTED] 200 12 ms',
    ],
    // pino's process fields are left out; a multi-line value shows its first line.
    [
      { level: 30, time: at, pid: 7, hostname: 'vm', name: 'api', msg: 'm', error: 'Error: no\n    at here' },
      '09:05:07 INFO  api: m error="Error: no …"',
    ],
  ];
  for (const [record, line] of cases) assert.equal(formatRecord(record), line);
});

test("an error's message goes on its line and, at error level, its stack below; colors only when asked", () => {
  const err = { type: 'Error', message: 'the socket closed', stack: 'Error: the socket closed\n    at a (x.js:1:1)' };
  assert.equal(
    formatRecord({ level: 50, time: at, name: 'worker', msg: 'failed', err }),
    '09:05:07 ERROR worker: failed err="the socket closed"\n    Error: the socket closed\n    at a (x.js:1:1)',
  );
  assert.equal(
    formatRecord({ level: 40, time: at, name: 'worker', msg: 'failed', err }),
    '09:05:07 WARN  worker: failed err="the socket closed"',
  );
  const colored = formatRecord({ level: 50, time: at, name: 'worker', msg: 'failed', err }, true);
  assert.match(colored, /\x1b\[31mERROR\x1b\[0m/);
  assert.doesNotMatch(formatRecord({ level: 50, time: at, name: 'worker', msg: 'failed' }), /\x1b/);
});

test('readable on a terminal, JSON otherwise, unless LOG_FORMAT says', () => {
  assert.equal(logFormat(undefined, { isTTY: true }), 'pretty');
  assert.equal(logFormat(undefined, { isTTY: false }), 'json');
  assert.equal(logFormat(undefined, {}), 'json');
  assert.equal(logFormat('json', { isTTY: true }), 'json');
  assert.equal(logFormat('pretty', { isTTY: false }), 'pretty');
});

test('a pino logger through the readable stream: one line per record, secrets redacted as in JSON, no color off a terminal', () => {
  let text = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  const logger = pino({ name: 'api', redact: { paths: ['*.token'], censor: '[REDACTED]' } }, prettyStream(out));
  logger.info({ settings: { token: 'secret-token-123' } }, 'saved');
  logger.child({ module: 'temporal' }).warn('slow');
  const lines = text.trimEnd().split('\n');
  assert.equal(lines.length, 2, text);
  assert.match(lines[0]!, /^\d\d:\d\d:\d\d INFO {2}api: saved settings=\{"token":"\[REDACTED\]"\}$/);
  assert.match(lines[1]!, /^\d\d:\d\d:\d\d WARN {2}api\/temporal: slow$/);
  assert.doesNotMatch(text, /secret-token-123|\x1b/);
});

test("Baileys' planned restart and early app-state data are info; its other warnings and errors stay as they are", () => {
  const restart = { fullErrorNode: { tag: 'stream:error', attrs: { code: '515' } } };
  const loggedOut = { fullErrorNode: { tag: 'stream:error', attrs: { code: '401' } } };
  const parking = 'critical_unblock_low blocked on missing key from v0, parking after 2 attempts';
  assert.equal(deservedLevel('error', restart, 'stream errored out'), 'info');
  assert.equal(deservedLevel('error', loggedOut, 'stream errored out'), 'error');
  assert.equal(deservedLevel('warn', { name: 'critical_unblock_low' }, parking), 'info');
  assert.equal(deservedLevel('warn', {}, 'failed to sync critical_block from v3, giving up'), 'warn');
  assert.equal(deservedLevel('info', undefined, undefined), 'info');
});

test("through Baileys' logger at warn, the planned restart is not logged; at info, early app-state data comes without its stack", () => {
  const capture = (level: string) => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    return { lines, logger: baileysLogger(pino({ level }, sink).child({ module: 'baileys' })) };
  };
  const atWarn = capture('warn');
  atWarn.logger.error({ fullErrorNode: { tag: 'stream:error', attrs: { code: '515' } } }, 'stream errored out');
  atWarn.logger
    .child({ instanceId: 'default' })
    .error({ fullErrorNode: { tag: 'stream:error', attrs: { code: '401' } } }, 'stream errored out');
  atWarn.logger.warn('plain text');
  assert.deepEqual(
    atWarn.lines.map((l) => [l.level, l.msg, l.instanceId]),
    [
      [50, 'stream errored out', 'default'],
      [40, 'plain text', undefined],
    ],
  );
  assert.equal(atWarn.logger.level, 'warn');

  const atInfo = capture('info');
  atInfo.logger.warn(
    { name: 'critical_unblock_low', error: 'Error: failed to find key\n    at decode (chat-utils.js:1:1)' },
    'critical_unblock_low blocked on missing key from v0, parking after 2 attempts',
  );
  assert.equal(atInfo.lines.length, 1);
  assert.equal(atInfo.lines[0]!.level, 30);
  assert.equal(atInfo.lines[0]!.error, 'Error: failed to find key');
});
