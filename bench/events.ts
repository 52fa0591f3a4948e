/**
 * Event streams, measured (figures, no pass/fail):
 *
 *   npm run bench:events [-- EVENTS [STREAMS [PARTS]]]     (10000, 1000, throughput,latency,idle)
 *
 * 1. throughput: EVENTS events over 100 chats recorded at once, for an
 *    instance with a webhook (a local receiver answering 200 at once), an SSE
 *    client, a WebSocket client, and the broker sinks (a RabbitMQ and a NATS
 *    server started here): how fast each path carries them all.
 * 2. latency: a contact's phone writes to a paired instance (real Baileys,
 *    simulator) at 5 messages a second: time from the phone's send to the
 *    message_received event on the SSE stream, beside the webhook's.
 * 3. idle: STREAMS SSE streams open and idle: the API process's memory per
 *    stream, then one event: the time until every stream has it.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import WebSocket from 'ws';
import { startGateway, type Gateway } from '../test/support/gateway.js';
import { startBenchStack } from './support/stack.js';
import { rssMb } from './support/cpu.js';
import { recordBurst, useWebhook } from './support/events.js';
import { pairThroughApi } from './support/pairing.js';
import amqp from 'amqplib';
import { connect as natsConnect } from 'nats';
import { startNats, startRabbit } from '../test/support/brokers.js';

const EVENTS = Number(process.argv[2] ?? 10_000);
const STREAMS = Number(process.argv[3] ?? 1_000);
const PARTS = (process.argv[4] ?? 'throughput,latency,idle').split(',');
const CHATS = 100;
const now = () => performance.timeOrigin + performance.now();
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
};

interface Arrivals {
  /** Arrival time by the message id in the event's data. */
  byMessage: Map<string, number>;
  count: number;
  last: number;
}
const arrivals = (): Arrivals => ({ byMessage: new Map(), count: 0, last: 0 });
function arrived(a: Arrivals, envelope: { data: { id?: string } }) {
  const at = now();
  a.count++;
  a.last = at;
  if (envelope.data.id) a.byMessage.set(envelope.data.id, at);
}

async function startReceiver() {
  const got = arrivals();
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      arrived(got, JSON.parse(Buffer.concat(chunks).toString()));
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { got, url, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

/** An SSE client counting events; `onOpen` once the stream has sent its first message. */
async function sse(gw: Gateway, path: string, got: Arrivals, dispatcher?: Agent): Promise<() => void> {
  const controller = new AbortController();
  const res = await request(`${gw.baseUrl}${path}`, {
    headers: { authorization: `Bearer ${gw.token}`, accept: 'text/event-stream' },
    signal: controller.signal,
    dispatcher,
  });
  if (res.statusCode !== 200) throw new Error(`${path}: ${res.statusCode} ${await res.body.text()}`);
  let opened: () => void;
  const open = new Promise<void>((r) => (opened = r));
  void (async () => {
    let buffer = '';
    try {
      for await (const chunk of res.body) {
        buffer += chunk.toString();
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          opened!();
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data) arrived(got, JSON.parse(data.slice(6)));
        }
      }
    } catch {
      // closed
    }
  })();
  await open;
  return () => controller.abort();
}

async function ws(gw: Gateway, path: string, got: Arrivals): Promise<() => void> {
  const socket = new WebSocket(`${gw.baseUrl.replace('http', 'ws')}${path}?token=${gw.token}`);
  socket.on('message', (data) => arrived(got, JSON.parse(data.toString())));
  await new Promise((resolve, reject) => {
    socket.on('open', resolve);
    socket.on('error', reject);
  });
  return () => socket.close();
}

async function until(check: () => boolean, timeoutMs: number, what: string) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

/** A consumer of the RabbitMQ sink: a queue on the exchange for the instance's events. */
async function rabbitConsumer(url: string, instanceId: string, got: Arrivals): Promise<() => Promise<void>> {
  const connection = await amqp.connect(url);
  const channel = await connection.createChannel();
  await channel.assertExchange('wa.events', 'topic', { durable: true });
  const { queue } = await channel.assertQueue('', { exclusive: true });
  await channel.bindQueue(queue, 'wa.events', `${instanceId}.#`);
  await channel.consume(queue, (message) => message && arrived(got, JSON.parse(message.content.toString())), { noAck: true });
  return () => connection.close();
}

/** The NATS sink's stream, watched: `got.count` follows the messages stored for the instance's subjects. */
async function natsWatcher(url: string, instanceId: string, got: Arrivals): Promise<() => Promise<void>> {
  const connection = await natsConnect({ servers: url });
  const subscription = connection.subscribe(`wa.${instanceId}.>`);
  void (async () => {
    for await (const message of subscription) arrived(got, JSON.parse(new TextDecoder().decode(message.data)));
  })();
  return () => connection.close();
}

async function throughput(gw: Gateway, brokers: { amqp: string; nats: string }): Promise<string[]> {
  const receiver = await startReceiver();
  const [sseGot, wsGot, amqpGot, natsGot] = [arrivals(), arrivals(), arrivals(), arrivals()];
  await useWebhook(gw, 'burst', receiver.url);
  const closeSse = await sse(gw, '/api/instance/burst/events', sseGot);
  const closeWs = await ws(gw, '/api/instance/burst/events/ws', wsGot);
  const closeAmqp = await rabbitConsumer(brokers.amqp, 'burst', amqpGot);
  const closeNats = await natsWatcher(brokers.nats, 'burst', natsGot);
  const all = [receiver.got, sseGot, wsGot, amqpGot, natsGot];
  try {
    // A sink publishes the events recorded since a worker first started with it.
    const deadline = Date.now() + 60_000;
    while (Number((await gw.db('event_sinks').count({ n: '*' }))[0]!.n) < 2) {
      if (Date.now() > deadline) throw new Error(`the sinks did not start:\n${gw.workers[0]!.output().slice(-3_000)}`);
      await sleep(200);
    }
    // Warm up: the webhook's drain running, the streams live, the sinks publishing.
    await recordBurst(gw, 'burst', 200, CHATS, 1_000_000);
    await until(() => all.every((a) => a.count >= 200), 120_000, 'the warm-up').catch(async (err) => {
      throw new Error(
        `${(err as Error).message}: ${all.map((a) => a.count).join(', ')} of 200 (webhook, SSE, WebSocket, RabbitMQ, NATS)\n${gw.workers[0]!.output().slice(-3_000)}`,
      );
    });
    for (const a of all) a.count = 0;
    const started = now();
    await recordBurst(gw, 'burst', EVENTS, CHATS);
    await until(() => all.every((a) => a.count >= EVENTS), 600_000, 'the burst');
    const rate = (a: Arrivals) => EVENTS / ((a.last - started) / 1000);
    const webhook = rate(receiver.got);
    const line = (name: string, a: Arrivals) =>
      `  ${name.padEnd(22)}${rate(a).toFixed(0).padStart(7)} events/s   ratio ${(rate(a) / webhook).toFixed(1)} to the webhook`;
    return [
      `burst of ${EVENTS} events over ${CHATS} chats, recorded in one statement:`,
      `  ${'webhook delivery'.padEnd(22)}${webhook.toFixed(0).padStart(7)} events/s`,
      line('SSE stream', sseGot),
      line('WebSocket stream', wsGot),
      line('RabbitMQ (confirmed)', amqpGot),
      line('NATS JetStream (acked)', natsGot),
    ];
  } finally {
    closeSse();
    closeWs();
    await closeAmqp().catch(() => {});
    await closeNats().catch(() => {});
    await receiver.stop();
  }
}

async function latency(gw: Gateway, sim: Awaited<ReturnType<typeof startBenchStack>>['sim']): Promise<string[]> {
  const receiver = await startReceiver();
  const sseGot = arrivals();
  try {
    const OWNER = '905554500001';
    const CONTACT = '905554500002';
    await useWebhook(gw, 'live', receiver.url);
    await pairThroughApi(gw, sim, 'live', OWNER, 'Live');
    await sim.call('addUser', CONTACT, 'Contact');
    const close = await sse(gw, '/api/instance/live/events?types=message_received', sseGot);
    const sent = new Map<string, number>();
    const total = 200;
    for (let i = 0; i < total + 20; i++) {
      const { id, at } = await sim.call('sendText', CONTACT, OWNER, `latency ${i}`);
      if (i >= 20) sent.set(id, at); // the first ones warm up the Signal session and the drain
      await sleep(200);
    }
    await until(() => [...sent.keys()].every((id) => sseGot.byMessage.has(id) && receiver.got.byMessage.has(id)), 60_000, 'every message');
    close();
    const lag = (a: Arrivals) => [...sent].map(([id, at]) => a.byMessage.get(id)! - at);
    const line = (name: string, times: number[]) =>
      `  ${name}   p50 ${percentile(times, 50).toFixed(1).padStart(6)} ms   p99 ${percentile(times, 99).toFixed(1).padStart(6)} ms   max ${Math.max(...times).toFixed(1)} ms`;
    return [
      `incoming message at the simulator → message_received (${total}, 5/s):`,
      line('SSE stream      ', lag(sseGot)),
      line('webhook receiver', lag(receiver.got)),
    ];
  } finally {
    await receiver.stop();
  }
}

async function idle(gw: Gateway): Promise<string[]> {
  await gw.request('/api/instance', { method: 'POST', json: { id: 'idle' } });
  const pid = gw.api.child.pid!;
  const dispatcher = new Agent({ connections: STREAMS + 10, pipelining: 0 });
  global.gc?.();
  await sleep(1_000);
  const before = rssMb(pid);
  const got = Array.from({ length: STREAMS }, arrivals);
  progress(`idle: opening ${STREAMS} streams`);
  const closers: Array<() => void> = [];
  for (let i = 0; i < STREAMS; i += 50)
    closers.push(...(await Promise.all(got.slice(i, i + 50).map((a) => sse(gw, '/api/instance/idle/events', a, dispatcher)))));
  await sleep(5_000);
  const after = rssMb(pid);
  const started = now();
  await gw.db.raw(
    `insert into webhook_events (id, instance_id, event, data, timestamp) values (gen_random_uuid(), 'idle', 'webhook_test', '{"id":"fanout"}', 0)`,
  );
  await until(() => got.every((a) => a.count >= 1), 60_000, 'the event on every stream');
  const fanout = got.map((a) => a.last - started);
  for (const close of closers) close();
  await dispatcher.close().catch(() => {});
  return [
    `${STREAMS} idle SSE streams on one API process:`,
    `  API memory   ${before.toFixed(0)} MB → ${after.toFixed(0)} MB: ${(((after - before) * 1024) / STREAMS).toFixed(1)} kB per stream`,
    `  one event to all of them   first ${Math.min(...fanout).toFixed(0)} ms   p50 ${percentile(fanout, 50).toFixed(0)} ms   last ${Math.max(...fanout).toFixed(0)} ms`,
  ];
}

const stack = await startBenchStack();
try {
  const [rabbit, nats] = await Promise.all([startRabbit(), startNats()]);
  stack.atStop(() => Promise.all([rabbit.stop(), nats.stop()]));
  const gw = await startGateway({
    name: 'bench_events',
    workers: 1,
    workerEntry: 'worker/main.ts',
    env: { ...stack.gatewayEnv, EVENTS_AMQP_URL: rabbit.url, EVENTS_NATS_URL: nats.url },
  });
  stack.atStop(() => gw.stop());
  const report: string[] = [];
  if (PARTS.includes('throughput')) report.push(...(await throughput(gw, { amqp: rabbit.url, nats: nats.url })));
  if (PARTS.includes('latency')) report.push(...(await latency(gw, stack.sim)));
  if (PARTS.includes('idle')) report.push(...(await idle(gw)));
  process.stdout.write(`\n${report.join('\n')}\n`);
} finally {
  await stack.stop();
}
