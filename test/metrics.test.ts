// Prometheus metrics of the API and of a worker: behind their token, with the documented names, and
// moving when sends happen.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { freePort } from '../stack/ports.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { scanQr } from './support/fakePhone.js';

let gw: Gateway;
let workerPort = 0;
before(async () => {
  workerPort = await freePort();
  gw = await startGateway({ name: 'metrics', workers: 0, env: { FAKE_ACCEPT_SENDS: '1' } });
  const worker = gw.startWorker('m1', { WORKER_METRICS_PORT: String(workerPort) });
  await eventually(async () => worker.output().includes('worker started') || undefined, 30_000, 'the worker');
  await gw.request('/api/instance/default/connect', { method: 'POST' });
  await eventually(async () => (await gw.db('instances').where({ id: 'default' }).first())?.qr, 20_000, 'QR');
  await scanQr(gw.db, 'default');
  await eventually(async () => (await gw.db('instances').where({ id: 'default' }).first())?.status === 'open' || undefined, 20_000, 'open');
});
after(async () => {
  await gw?.stop();
});

const scrape = async (url: string, token = gw.token) => {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, text: await res.text() };
};
/** The value of one series (0 when absent). */
const value = (text: string, series: string) => {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
};

test('the API and the worker serve their metrics to the token only', async () => {
  for (const url of [`${gw.baseUrl}/metrics`, `http://127.0.0.1:${workerPort}/metrics`]) {
    assert.equal((await scrape(url, '')).status, 401, url);
    assert.equal((await scrape(url, 'wrong')).status, 401, url);
    const { status, text } = await scrape(url);
    assert.equal(status, 200, url);
    assert.match(text, /^# HELP wa_process_cpu_user_seconds_total/m);
  }
  const ready = await fetch(`${gw.baseUrl}/ready`);
  assert.equal(ready.status, 200);
});

test('sends move the request, send, outbox and latency metrics; stored state is reported', async () => {
  const api = `${gw.baseUrl}/metrics`;
  const worker = `http://127.0.0.1:${workerPort}/metrics`;
  const chatRoute = 'method="POST",route="/api/instance/:instanceId/messages/chat",status="200"';
  const before = { api: (await scrape(api)).text, worker: (await scrape(worker)).text };
  for (let n = 0; n < 3; n++) {
    const res = await gw.request('/api/instance/default/messages/chat', { method: 'POST', json: { to: '905551110000', body: `m${n}` } });
    assert.equal(res.status, 200);
  }
  const after = { api: (await scrape(api)).text, worker: (await scrape(worker)).text };
  const moved = (text: keyof typeof after, series: string) => value(after[text], series) - value(before[text], series);
  assert.equal(moved('api', 'wa_sends_total{type="chat",outcome="sent"}'), 3);
  assert.equal(moved('api', `wa_http_requests_total{${chatRoute}}`), 3);
  assert.equal(moved('api', 'wa_http_request_duration_seconds_count{method="POST",route="/api/instance/:instanceId/messages/chat"}'), 3);
  assert.equal(moved('worker', 'wa_outbox_messages_total{outcome="sent"}'), 3);
  assert.equal(moved('worker', 'wa_send_latency_seconds_count'), 3);
  // One series per route, none per instance.
  assert.doesNotMatch(after.api, /route="\/api\/instance\/default/);
  assert.equal(value(after.api, 'wa_instances{status="open"}'), 1);
  assert.match(after.api, /^wa_db_pool_api_connections\{state="used"\} \d+/m);
  assert.match(after.worker, /^wa_db_pool_worker_connections\{state="free"\} \d+/m);
  for (const name of [
    'wa_outbox_pending',
    'wa_campaigns',
    'wa_scheduled_messages',
    'wa_webhook_attempts_total',
    'wa_webhook_delivery_lag_seconds',
  ]) {
    assert.match(after.api + after.worker, new RegExp(`^# TYPE ${name} `, 'm'), name);
  }
  // An unknown route is counted under one label.
  await gw.request('/api/nothing-here');
  assert.ok(value((await scrape(api)).text, 'wa_http_requests_total{method="GET",route="unmatched",status="404"}') >= 1);
});
