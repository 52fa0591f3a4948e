/**
 * Webhook delivery, measured (figures, no pass/fail):
 *
 *   npm run bench:webhooks [-- EVENTS [DOWN_MINUTES [PARTS]]]     (10000, 10, throughput,outage,latency)
 *
 * 1. throughput: EVENTS events over 100 chats recorded at once, delivered to a
 *    local receiver that answers 200 at once, beside a plain loop POSTing the
 *    same payloads with undici at the same concurrency (ratio); then events
 *    recorded steadily in small transactions at 500/s for 20 s: whether
 *    delivery keeps up (the lag from recording to arrival).
 * 2. outage: the receiver answers 503 for DOWN_MINUTES while EVENTS events are
 *    recorded, then 200: attempts made while it was down, the wait for the next
 *    probe, the time to deliver the backlog once it answers, duplicates.
 * 3. latency: a contact's phone writes to a paired instance (real Baileys,
 *    simulator) at 5 messages a second: time from the phone's send to the
 *    message_received webhook at the receiver, p50 and p99.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Pool, request } from 'undici';
import { startGateway, type Gateway } from '../test/support/gateway.js';
import { startBenchStack } from './support/stack.js';
import { recordBurst, useWebhook } from './support/events.js';
import { pairThroughApi } from './support/pairing.js';
import { readCpu } from './support/cpu.js';

const EVENTS = Number(process.argv[2] ?? 10_000);
const DOWN_MINUTES = Number(process.argv[3] ?? 10);
const PARTS = (process.argv[4] ?? 'throughput,outage,latency').split(',');
const CONCURRENCY = 16;
const CHATS = 100;
const now = () => performance.timeOrigin + performance.now();
const progress = (line: string) => process.stderr.write(`[bench] ${line}\n`);
const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]! : NaN;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A receiver in this process: answers `status` at once and remembers what arrived (by event id) and when. */
async function startReceiver() {
  const state = {
    status: 200,
    /** Requests answered 200, per event id. */
    delivered: new Map<string, number>(),
    refused: 0,
    /** Arrival time of each delivered event, by the message id in its data. */
    arrivals: new Map<string, number>(),
    lastArrival: 0,
    firstSuccessAt: 0,
    url: '',
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const at = now();
      const body = JSON.parse(Buffer.concat(chunks).toString()) as { id: string; data: { id?: string } };
      if (state.status !== 200) {
        state.refused++;
        res.writeHead(state.status).end();
        return;
      }
      state.delivered.set(body.id, (state.delivered.get(body.id) ?? 0) + 1);
      if (body.data.id) state.arrivals.set(body.data.id, at);
      state.lastArrival = at;
      state.firstSuccessAt ||= at;
      res.writeHead(200).end();
    });
  });
  server.keepAliveTimeout = 10_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return { state, stop: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}
type Receiver = Awaited<ReturnType<typeof startReceiver>>;

async function waitDelivered(receiver: Receiver, count: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (receiver.state.delivered.size < count) {
    if (Date.now() > deadline) throw new Error(`only ${receiver.state.delivered.size} of ${count} delivered`);
    await sleep(20);
  }
}

const workerCpu = (gw: Gateway) => readCpu(gw.workers[0]!.child.pid!).get(gw.workers[0]!.child.pid!)?.ms ?? NaN;

async function throughput(gw: Gateway): Promise<string[]> {
  const receiver = await startReceiver();
  const lines: string[] = [];
  try {
    // The plain loop: the same envelope, undici with a keep-alive pool, CONCURRENCY requests at once.
    const payloads = Array.from({ length: EVENTS }, (_, i) =>
      JSON.stringify({
        event: 'message_received',
        data: { id: `P${i}`, chatId: `90555${String(i % CHATS).padStart(7, '0')}@s.whatsapp.net`, body: `bench message ${i}` },
        timestamp: Date.now(),
        instance_id: 'plain',
        id: `p-${i}`,
        seq: i,
      }),
    );
    const pool = new Pool(new URL(receiver.state.url).origin, { connections: 64 });
    let next = 0;
    const plainStart = now();
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (next < payloads.length) {
          const body = payloads[next++]!;
          const res = await request(receiver.state.url, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json' },
            dispatcher: pool,
          });
          await res.body.dump();
        }
      }),
    );
    const plainRate = EVENTS / ((now() - plainStart) / 1000);
    await pool.close();
    receiver.state.delivered.clear();

    await useWebhook(gw, 'burst', receiver.state.url);
    // Warm up (the workflow started, the drain running), then the burst.
    await recordBurst(gw, 'burst', 200, CHATS, 1_000_000);
    await waitDelivered(receiver, 200, 60_000);
    receiver.state.delivered.clear();
    const cpuBefore = workerCpu(gw);
    const started = now();
    await recordBurst(gw, 'burst', EVENTS, CHATS);
    await waitDelivered(receiver, EVENTS, 300_000);
    const gatewayRate = EVENTS / ((receiver.state.lastArrival - started) / 1000);
    const cpuPer = (workerCpu(gw) - cpuBefore) / EVENTS;
    lines.push(
      `burst of ${EVENTS} events over ${CHATS} chats, ${CONCURRENCY} at once:`,
      `  plain undici loop   ${plainRate.toFixed(0).padStart(6)} POSTs/s`,
      `  gateway delivery    ${gatewayRate.toFixed(0).padStart(6)} deliveries/s   ratio ${(gatewayRate / plainRate).toFixed(2)}   worker CPU ${cpuPer.toFixed(2)} ms per delivery`,
    );

    // Steady recording in small transactions, as sessions record them: does delivery keep up?
    receiver.state.delivered.clear();
    receiver.state.arrivals.clear();
    const recordedAt = new Map<string, number>();
    const steadyStart = now();
    let recorded = 0;
    for (let tick = 0; now() - steadyStart < 20_000; tick++) {
      const due = Math.floor(((now() - steadyStart) / 1000) * 500);
      const batch: Array<Promise<unknown>> = [];
      while (recorded < due) {
        const id = `S${recorded}`;
        recordedAt.set(id, now());
        batch.push(
          gw.db.raw(
            `insert into webhook_events (id, instance_id, event, data, timestamp) values (gen_random_uuid(), 'burst', 'message_received', ?, ?)`,
            [
              JSON.stringify({ id, chatId: `90555${String(recorded % CHATS).padStart(7, '0')}@s.whatsapp.net`, body: 'steady' }),
              Date.now(),
            ],
          ),
        );
        recorded++;
      }
      await Promise.all(batch);
      await sleep(10);
    }
    await waitDelivered(receiver, recorded, 120_000);
    const lags = [...recordedAt].map(([id, at]) => receiver.state.arrivals.get(id)! - at);
    lines.push(
      `steady ${recorded} events in 20 s (${(recorded / 20).toFixed(0)}/s, one transaction each):`,
      `  lag from recording to arrival   p50 ${percentile(lags, 50).toFixed(1)} ms   p99 ${percentile(lags, 99).toFixed(1)} ms   max ${Math.max(...lags).toFixed(0)} ms`,
    );
  } finally {
    await receiver.stop();
  }
  return lines;
}

async function outage(gw: Gateway): Promise<string[]> {
  const receiver = await startReceiver();
  try {
    await useWebhook(gw, 'outage', receiver.state.url);
    receiver.state.status = 503;
    const downMs = DOWN_MINUTES * 60_000;
    const started = Date.now();
    let recorded = 0;
    progress(`outage: receiver down for ${DOWN_MINUTES} min while ${EVENTS} events are recorded`);
    while (recorded < EVENTS) {
      const due = Math.min(EVENTS, Math.ceil(((Date.now() - started) / (downMs * 0.9)) * EVENTS));
      if (due > recorded) {
        await recordBurst(gw, 'outage', due - recorded, CHATS, recorded);
        recorded = due;
      }
      await sleep(500);
    }
    await sleep(Math.max(0, started + downMs - Date.now()));
    const attemptsWhileDown = receiver.state.refused;
    receiver.state.status = 200;
    const upAt = now();
    progress(`outage: receiver up after ${attemptsWhileDown} attempts; waiting for the next probe`);
    await waitDelivered(receiver, EVENTS, 3_600_000);
    const duplicates = [...receiver.state.delivered.values()].filter((n) => n > 1).length;
    return [
      `receiver down ${DOWN_MINUTES} min while ${EVENTS} events were recorded, then up:`,
      `  attempts while down            ${attemptsWhileDown}`,
      `  wait for the next probe        ${((receiver.state.firstSuccessAt - upAt) / 1000).toFixed(1)} s (the backoff schedule's)`,
      `  backlog delivered after it     ${((receiver.state.lastArrival - receiver.state.firstSuccessAt) / 1000).toFixed(1)} s (${(EVENTS / ((receiver.state.lastArrival - receiver.state.firstSuccessAt) / 1000)).toFixed(0)}/s)`,
      `  duplicates                     ${duplicates}`,
    ];
  } finally {
    await receiver.stop();
  }
}

async function latency(gw: Gateway, sim: Awaited<ReturnType<typeof startBenchStack>>['sim']): Promise<string[]> {
  const receiver = await startReceiver();
  try {
    const OWNER = '905554400001';
    const CONTACT = '905554400002';
    await useWebhook(gw, 'live', receiver.state.url);
    await pairThroughApi(gw, sim, 'live', OWNER, 'Live');
    await sim.call('addUser', CONTACT, 'Contact');
    const sent = new Map<string, number>();
    const total = 200;
    for (let i = 0; i < total + 20; i++) {
      const { id, at } = await sim.call('sendText', CONTACT, OWNER, `latency ${i}`);
      if (i >= 20) sent.set(id, at); // the first ones warm up the Signal session and the drain
      await sleep(200);
    }
    const deadline = Date.now() + 60_000;
    while ([...sent.keys()].some((id) => !receiver.state.arrivals.has(id)) && Date.now() < deadline) await sleep(50);
    const times = [...sent].filter(([id]) => receiver.state.arrivals.has(id)).map(([id, at]) => receiver.state.arrivals.get(id)! - at);
    return [
      `incoming message at the simulator → message_received at the receiver (${times.length} of ${total}, 5/s):`,
      `  p50 ${percentile(times, 50).toFixed(1)} ms   p99 ${percentile(times, 99).toFixed(1)} ms   max ${Math.max(...times).toFixed(1)} ms`,
    ];
  } finally {
    await receiver.stop();
  }
}

const stack = await startBenchStack();
try {
  const gw = await startGateway({
    name: 'bench_webhooks',
    workers: 1,
    workerEntry: 'worker/main.ts',
    env: { ...stack.gatewayEnv, WEBHOOK_CONCURRENCY: String(CONCURRENCY) },
  });
  stack.atStop(() => gw.stop());
  const report: string[] = [];
  if (PARTS.includes('throughput')) report.push(...(await throughput(gw)));
  if (PARTS.includes('latency')) report.push(...(await latency(gw, stack.sim)));
  if (PARTS.includes('outage')) report.push(...(await outage(gw)));
  process.stdout.write(`\n${report.join('\n')}\n`);
} finally {
  await stack.stop();
}
