// The API's request log and request ids, and the cheap stack traces of Baileys' timers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { delayCancellable } from '@whiskeysockets/baileys/lib/Utils/generics.js';
import { requestLog, successfulRead } from '../api/middleware/requestLog.js';
import { cheapBaileysTimerStacks } from '../whatsapp/baileys/stackTraces.js';

async function server(level: string, quiet: (req: express.Request, res: express.Response) => boolean = (req) => req.path === '/health') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)));
      done();
    },
  });
  const logger = pino({ level }, sink);
  const app = express();
  app.use(requestLog(logger, { quiet }));
  app.get('/health', (_req, res) => void res.json({ ok: true }));
  app.get('/ok', (req, res) => {
    req.log.info({ step: 'handler' }, 'inside');
    res.json({ id: req.id });
  });
  app.get('/boom', (_req, res) => void res.status(500).json({ error: 'x' }));
  app.post('/ok', (_req, res) => void res.json({ ok: true }));
  app.get('/missing', (_req, res) => void res.status(404).json({ error: 'x' }));
  const listening = app.listen(0);
  await new Promise((resolve) => listening.once('listening', resolve));
  const base = `http://127.0.0.1:${(listening.address() as AddressInfo).port}`;
  return { base, lines, close: () => new Promise((resolve) => listening.close(resolve)) };
}

test('one line per finished request, token redacted; 5xx at error; a quiet one (/health) not at info; req.log carries the id', async () => {
  const s = await server('info');
  try {
    const ok = await fetch(`${s.base}/ok?token=secret-token&x=1`, { headers: { 'x-request-id': 'trace-7' } });
    assert.equal(ok.headers.get('x-request-id'), 'trace-7');
    assert.deepEqual(await ok.json(), { id: 'trace-7' });
    await (await fetch(`${s.base}/boom`)).text();
    await (await fetch(`${s.base}/health`)).text();
    await new Promise((resolve) => setImmediate(resolve));
    const inside = s.lines.find((l) => l.msg === 'inside');
    assert.equal(inside?.reqId, 'trace-7');
    const completed = s.lines.filter((l) => l.msg === 'request completed');
    assert.equal(completed.length, 2, JSON.stringify(s.lines));
    const [first, second] = completed as Array<{
      level: number;
      req: { id: string; url: string; method: string };
      res: { statusCode: number };
      responseTime: number;
    }>;
    assert.deepEqual(first!.req, { id: 'trace-7', method: 'GET', url: '/ok?token=[REDACTED]&x=1' });
    assert.equal(first!.res.statusCode, 200);
    assert.equal(first!.level, 30);
    assert.equal(typeof first!.responseTime, 'number');
    assert.equal(second!.res.statusCode, 500);
    assert.equal(second!.level, 50);
    assert.match(second!.req.id, /^[0-9a-f-]{36}$/);
  } finally {
    await s.close();
  }
});

test('a token is redacted however its name is written: percent-encoded, in capitals, as api_key or access_token', async () => {
  const s = await server('info');
  try {
    const urls = ['/ok?%74oken=s1', '/ok?x=1&TOKEN=s2', '/ok?api%5Fkey=s3&access_token=s4', '/ok?to%6Ben=s5&tokens=keep'];
    for (const url of urls) await (await fetch(`${s.base}${url}`)).text();
    await new Promise((resolve) => setImmediate(resolve));
    const logged = s.lines.filter((l) => l.msg === 'request completed').map((l) => (l.req as { url: string }).url);
    assert.deepEqual(logged, [
      '/ok?%74oken=[REDACTED]',
      '/ok?x=1&TOKEN=[REDACTED]',
      '/ok?api%5Fkey=[REDACTED]&access_token=[REDACTED]',
      '/ok?to%6Ben=[REDACTED]&tokens=keep',
    ]);
    assert.ok(!JSON.stringify(s.lines).match(/s[1-5]\b/), 'no token value anywhere in the log');
  } finally {
    await s.close();
  }
});

test("the gateway's quiet requests are the reads that succeed: at debug; a change or a failed read at info, a 5xx at error", async () => {
  const s = await server('debug', successfulRead);
  try {
    await (await fetch(`${s.base}/ok`)).text();
    await (await fetch(`${s.base}/ok`, { method: 'POST' })).text();
    await (await fetch(`${s.base}/missing`)).text();
    await (await fetch(`${s.base}/boom`)).text();
    await new Promise((resolve) => setImmediate(resolve));
    const completed = s.lines.filter((l) => l.msg === 'request completed') as Array<{
      level: number;
      req: { method: string; url: string };
    }>;
    assert.deepEqual(
      completed.map((l) => [l.req.method, l.req.url, l.level]),
      [
        ['GET', '/ok', 20],
        ['POST', '/ok', 30],
        ['GET', '/missing', 30],
        ['GET', '/boom', 50],
      ],
    );
  } finally {
    await s.close();
  }
});

test('with info off, only 5xx responses are logged', async () => {
  const s = await server('error');
  try {
    await (await fetch(`${s.base}/ok`)).text();
    await (await fetch(`${s.base}/boom`)).text();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(
      s.lines.map((l) => [l.msg, (l.res as { statusCode: number }).statusCode]),
      [['request completed', 500]],
    );
  } finally {
    await s.close();
  }
});

test("Baileys' timer stacks keep their top frames, unmapped; every other stack is formatted as before", async () => {
  const here = () => new Error('ours').stack!.split('\n').slice(0, 2).join('\n');
  const before = here();
  cheapBaileysTimerStacks();
  // The same frame, formatted the same way (source-mapped to this file's line).
  assert.equal(here(), before);
  assert.match(before, /request-log\.test\.ts:\d+:\d+/);
  const { delay, cancel } = delayCancellable(60_000);
  cancel();
  const error = (await delay.catch((e: unknown) => e)) as { data: { stack: string } };
  const lines = error.data.stack.split('\n');
  assert.equal(lines[0], 'Error');
  assert.match(lines[1]!, /^ {4}at delayCancellable \(.*@whiskeysockets[\\/]baileys[\\/]lib[\\/]Utils[\\/]generics\.js:\d+:\d+\)$/);
  assert.equal(lines.length, 5);
});
