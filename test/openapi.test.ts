// The OpenAPI document and the docs page: every route the app serves is documented and every documented
// route is served; the document is valid OpenAPI 3.1; each operation, tried over HTTP with its own
// examples, answers one of its documented statuses with the fields its example shows; both are
// readable without a token, and a browser can try a request from the page with the token.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { Validator } from '@seriousme/openapi-schema-validator';
import { chromium } from 'playwright-core';
import { routeDocs } from '../api/docs/index.js';
import { documentationGaps } from '../api/openapi.js';
import { unstartedApp } from '../api/unstartedApp.js';
import { scanQr } from './support/fakePhone.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';

type Operation = {
  summary: string;
  parameters?: { name: string; in: string; required?: boolean; example?: unknown }[];
  requestBody?: { required?: boolean; content: Record<string, { example?: unknown }> };
  responses: Record<string, { content?: Record<string, { example?: unknown }> }>;
  security?: unknown[];
};
type Document = { paths: Record<string, Record<string, Operation>> };

let gw: Gateway;
let document: Document;
before(async () => {
  gw = await startGateway({ name: 'openapi', workers: 1, env: { FAKE_ACCEPT_SENDS: '1' } });
  const res = await fetch(`${gw.baseUrl}/api/openapi.json`);
  assert.equal(res.status, 200);
  document = (await res.json()) as Document;
});
after(async () => {
  await gw?.stop();
});

test('every route the app serves is documented, and every documented route is served', async () => {
  // The app as the API builds it, not started: its routers are walked for what it serves.
  const { app, close } = unstartedApp();
  try {
    assert.deepEqual(documentationGaps(app, routeDocs), { undocumented: [], unserved: [] });
  } finally {
    await close();
  }
  const operations = Object.values(document.paths).flatMap((methods) => Object.values(methods));
  assert.ok(operations.length >= 80, `${operations.length} operations`);
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      assert.notEqual(op.summary, 'Undocumented', `${method} ${path}`);
      assert.ok(
        // A WebSocket route's success is 101 Switching Protocols.
        Object.keys(op.responses).some((s) => s.startsWith('2') || (s === '101' && path.endsWith('/ws'))),
        `${method} ${path} has a success response`,
      );
      if (path.startsWith('/api/instance/{instanceId}')) assert.ok(op.responses['404'], `${method} ${path} documents the unknown instance`);
    }
  }
  // A route's parameters and body are its zod schemas: e.g. the text send's required fields.
  const chat = document.paths['/api/instance/{instanceId}/messages/chat']!.post!;
  const schema = (chat.requestBody!.content['application/json'] as { schema: { required: string[] } }).schema;
  assert.deepEqual(schema.required, ['to', 'body']);
});

test('the document is valid OpenAPI 3.1', async () => {
  const validator = new Validator();
  const result = await validator.validate(document as never);
  assert.equal(validator.version, '3.1');
  assert.ok(result.valid, JSON.stringify(result.errors, null, 2));
});

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Where the answer's top-level fields (or its first item's) differ from the example's. */
function shapeDifference(example: unknown, actual: unknown): string | undefined {
  if (Array.isArray(example) && Array.isArray(actual))
    return actual.length && example.length ? shapeDifference(example[0], actual[0]) : undefined;
  if (!isObject(example) || !isObject(actual))
    return typeof example === typeof actual ? undefined : `example ${typeof example}, answer ${typeof actual}`;
  const missing = Object.keys(example).filter((k) => !(k in actual));
  const undocumented = Object.keys(actual).filter((k) => !(k in example));
  return missing.length || undocumented.length ? `not answered: [${missing}], not in the example: [${undocumented}]` : undefined;
}

test('the document and the docs page are readable without a token; the package demo page is not served', async () => {
  const doc = await fetch(`${gw.baseUrl}/api/openapi.json`);
  assert.equal(doc.status, 200);
  assert.match(doc.headers.get('content-type') ?? '', /application\/json/);
  const redirect = await fetch(`${gw.baseUrl}/api/docs`, { redirect: 'manual' });
  assert.equal(redirect.status, 301);
  assert.equal(redirect.headers.get('location'), '/api/docs/');
  const page = await fetch(`${gw.baseUrl}/api/docs/`);
  assert.equal(page.status, 200);
  const html = await page.text();
  for (const asset of ['swagger-ui.css', 'swagger-ui-bundle.js', 'init.js', 'favicon-32x32.png']) {
    assert.ok(html.includes(`./${asset}`), asset);
    const res = await fetch(`${gw.baseUrl}/api/docs/${asset}`);
    assert.equal(res.status, 200, asset);
    assert.ok((await res.arrayBuffer()).byteLength > 0, asset);
  }
  assert.doesNotMatch(html, /https?:\/\//, 'nothing from another origin');
  for (const other of ['index.html', 'swagger-initializer.js', 'package.json']) {
    assert.notEqual((await fetch(`${gw.baseUrl}/api/docs/${other}`)).status, 200, other);
  }
  // The API itself still wants the token.
  assert.equal((await fetch(`${gw.baseUrl}/api/instance`)).status, 401);
});

const CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => existsSync(p));

test(
  'in a browser, the docs page lists the routes and tries one with the token entered under Authorize',
  { skip: !CHROMIUM && !process.env.CI },
  async () => {
    assert.ok(CHROMIUM, 'Chromium is installed (.ci/run installs it)');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const failed: string[] = [];
      page.on('requestfailed', (r) => failed.push(r.url()));
      page.on('pageerror', (e) => failed.push(e.message));
      await page.goto(`${gw.baseUrl}/api/docs`);
      await page.locator('.opblock').first().waitFor();
      assert.ok((await page.locator('.opblock').count()) >= 80);
      assert.equal(
        await page
          .locator('.info .title')
          .first()
          .innerText()
          .then((t) => t.startsWith('WhatsApp HTTP gateway')),
        true,
      );

      await page.locator('button.authorize').first().click();
      const bearer = page.locator('.modal-ux .auth-container').filter({ hasText: 'bearer' }).first();
      await bearer.locator('input').fill(gw.token);
      await bearer.locator('button.authorize').click();
      await page.locator('.modal-ux button.close-modal').click();

      const status = page.locator('#operations-Instances-getInstanceStatus');
      await status.locator('.opblock-summary').click();
      // The page opens operations ready to try (tryItOutEnabled); the button then says Cancel.
      assert.equal((await status.locator('button.try-out__btn').innerText()).trim(), 'Cancel');
      await status.locator('button.execute').click();
      const code = status.locator('.live-responses-table .response .response-col_status').first();
      await code.waitFor();
      assert.equal((await code.innerText()).trim(), '200');
      assert.match(
        await status.locator('.live-responses-table .microlight').first().innerText(),
        /"status": "(open|connecting|disconnected)"/,
      );
      assert.deepEqual(failed, []);
    } finally {
      await browser.close();
    }
  },
);

test('each operation, tried over HTTP with its examples, answers a documented status shaped like its example', async () => {
  // The default instance is connected and paired first, so that sends go out and the account is known.
  assert.equal((await gw.request('/api/instance/default/connect', { method: 'POST' })).status, 200);
  await eventually(
    async () => ((await (await gw.request('/api/instance/default/qr')).json()) as { qrCode?: string }).qrCode,
    20_000,
    'a QR',
  );
  await scanQr(gw.db, 'default', '905559876543', 'Shop');
  await eventually(
    async () => ((await (await gw.request('/api/instance/default/status')).json()) as any).accountStatus.status === 'open',
    20_000,
    'open',
  );

  const all = Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.entries(methods).map(([method, op]) => ({ method, path, op })),
  );
  // What ends the instance goes last; the rest in the document's order (created before it is read).
  const last = ['post /api/instance/{instanceId}/logout', 'delete /api/instance/{instanceId}'];
  const rank = (o: { method: string; path: string }) => last.indexOf(`${o.method} ${o.path}`);
  // The examples' instance `shop` is made first (a token is made for it).
  const first = all.filter((o) => o.method === 'post' && o.path === '/api/instance');
  const ordered = [
    ...first,
    ...all.filter((o) => rank(o) < 0 && !first.includes(o)),
    ...all.filter((o) => rank(o) >= 0).sort((a, b) => rank(a) - rank(b)),
  ];

  const report: string[] = [];
  for (const { method, path, op } of ordered) {
    const params = op.parameters ?? [];
    let url = path;
    const query = new URLSearchParams();
    const headers = new Headers({ authorization: `Bearer ${gw.token}` });
    for (const p of params) {
      if (p.example === undefined) {
        assert.ok(!p.required, `${method} ${path}: required ${p.in} parameter ${p.name} has an example`);
        continue;
      }
      if (p.in === 'path') url = url.replace(`{${p.name}}`, encodeURIComponent(String(p.example)));
      else if (p.in === 'query') query.set(p.name, String(p.example));
      else if (p.in === 'header') headers.set(p.name, `${String(p.example)}-${method}-${path}`);
    }
    let body: BodyInit | undefined;
    const content = op.requestBody?.content ?? {};
    if (content['application/json']?.example !== undefined) {
      headers.set('content-type', 'application/json');
      body = JSON.stringify(content['application/json'].example);
    } else if (content['multipart/form-data']) {
      const form = new FormData();
      form.set('file', new Blob([PNG], { type: 'image/png' }), 'photo.png');
      body = form;
    }
    assert.ok(!op.requestBody?.required || body, `${method} ${path}: its body has an example`);
    const res = await fetch(`${gw.baseUrl}${url}${query.size ? `?${query}` : ''}`, {
      method: method.toUpperCase(),
      headers,
      body,
      redirect: 'manual',
    });
    const type = res.headers.get('content-type') ?? '';
    // A stream does not end: its first message is enough.
    const text = type.startsWith('text/event-stream') ? await firstMessage(res) : await res.text();
    const answer = type.includes('json') ? JSON.parse(text) : text;
    const where = `${method.toUpperCase()} ${url} → ${res.status} ${text.slice(0, 300)}`;
    report.push(`${method.toUpperCase()} ${path} → ${res.status}`);
    assert.notEqual(answer?.code, 'ROUTE_NOT_FOUND', where);
    assert.ok(op.responses[String(res.status)], `${where}: status not documented (${Object.keys(op.responses)})`);
    // No failure of the gateway's own (the fake driver has no groups: WhatsApp's refusal, 502, is one documented answer).
    assert.ok(res.status < 500 || (res.status === 502 && answer.code === 'WHATSAPP_ERROR'), where);
    // The examples are valid input: no 400 from trying them.
    assert.notEqual(res.status, 400, where);
    const example = op.responses[String(res.status)]!.content?.['application/json']?.example;
    if (example !== undefined && type.includes('json')) {
      const difference =
        res.status >= 400
          ? ['error', 'code'].every((k) => k in answer)
            ? undefined
            : 'no error and code'
          : shapeDifference(example, answer);
      assert.equal(difference, undefined, `${where}: the answer is not shaped like the example`);
    }
  }
  console.log(`tried ${report.length} operations:\n  ${report.join('\n  ')}`);
  assert.equal(report.length, all.length);
});

/** The first SSE message of a stream (up to its blank line), then the stream is let go. */
async function firstMessage(res: Response): Promise<string> {
  const reader = res.body!.getReader();
  let text = '';
  try {
    while (!text.includes('\n\n')) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
  } finally {
    await reader.cancel();
  }
  return text;
}
