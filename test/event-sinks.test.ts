// Broker sinks on real brokers (RabbitMQ and NATS JetStream, started here on free ports) and real Baileys
// against the simulator: every event published in the log's order with its id, the brokers killed while
// events are recorded (they wait, then go out in order; /ready and /metrics say so meanwhile), and the
// worker killed while it publishes (nothing lost; a duplicate carries the same id).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import amqp from 'amqplib';
import { connect as natsConnect } from 'nats';
import { sendFromPhone } from '../simulator/messages.js';
import type { Simulator } from '../simulator/simulator.js';
import { recordEvent } from '../db/events.js';
import { eventually, type Gateway } from './support/gateway.js';
import { scenario } from './support/scenario.js';
import { startNats, startRabbit, type Broker } from './support/brokers.js';

const OWNER = '905558000001';
const CEM = '905558000002';
const QUEUE = 'sink-test';
let sim: Simulator;
let gw: Gateway;
let rabbit: Broker;
let nats: Broker;

const s = scenario({
  name: 'event_sinks',
  users: [
    [OWNER, 'Owner'],
    [CEM, 'Cem'],
  ],
  env: () => ({ EVENTS_AMQP_URL: rabbit.url, EVENTS_NATS_URL: nats.url }),
  instances: [{ id: 'shop', phone: OWNER, settings: { webhookEnabled: false } }],
});
before(async () => {
  [rabbit, nats] = await Promise.all([startRabbit(), startNats()]);
  // A durable queue on the gateway's exchange, declared before the gateway publishes: it keeps what is published
  // while nobody reads, and across a restart of the broker.
  const connection = await amqp.connect(rabbit.url);
  const channel = await connection.createChannel();
  await channel.assertExchange('wa.events', 'topic', { durable: true });
  await channel.assertQueue(QUEUE, { durable: true });
  await channel.bindQueue(QUEUE, 'wa.events', '#');
  await connection.close();
  ({ sim, gw } = await s.start());
});
after(async () => {
  await s.stop();
  await Promise.all([rabbit?.stop(), nats?.stop()]);
});

interface Published {
  id: string;
  event: string;
  instance: string;
  /** Where it went: the routing key, or the subject. */
  key: string;
  messageId: string;
}

/** What RabbitMQ's queue held, taken off it, added to `into`. */
async function drainRabbit(into: Published[]): Promise<Published[]> {
  const connection = await amqp.connect(rabbit.url);
  try {
    const channel = await connection.createChannel();
    for (;;) {
      const message = await channel.get(QUEUE, { noAck: true });
      if (!message) break;
      const envelope = JSON.parse(message.content.toString());
      into.push({
        id: envelope.id,
        event: envelope.event,
        instance: envelope.instance_id,
        key: message.fields.routingKey,
        messageId: message.properties.messageId,
      });
    }
  } finally {
    await connection.close();
  }
  return into;
}

/** Every message of the JetStream stream, in its order. */
async function readNats(): Promise<Published[]> {
  const connection = await natsConnect({ servers: nats.url });
  try {
    const manager = await connection.jetstreamManager();
    const info = await manager.streams.info('WA_EVENTS');
    const out: Published[] = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const message = await manager.streams.getMessage('WA_EVENTS', { seq });
      const envelope = JSON.parse(new TextDecoder().decode(message.data));
      out.push({
        id: envelope.id,
        event: envelope.event,
        instance: envelope.instance_id,
        key: message.subject,
        messageId: message.header.get('Nats-Msg-Id'),
      });
    }
    return out;
  } finally {
    await connection.close();
  }
}

/** The log's events from `firstId` on, in the order streams and sinks read it. */
async function logFrom(firstId: string): Promise<string[]> {
  const first = await gw.db('webhook_events').where({ id: firstId }).first('txid', 'seq');
  const rows = await gw
    .db('webhook_events')
    .whereRaw('(txid, seq) >= (?::xid8, ?::bigint) and txid < pg_snapshot_xmin(pg_current_snapshot())', [first.txid, first.seq])
    .orderBy(['txid', 'seq'])
    .select('id');
  return rows.map((r) => r.id);
}

/** Each id once, in the order first seen (a duplicate carries the id it duplicates). */
const distinct = (ids: string[]) => [...new Set(ids)];

const rabbitSeen: Published[] = [];

/** Waits until both brokers hold every event of `ids`; what each published, in its order. */
async function publishedBoth(ids: string[], timeoutMs: number): Promise<{ rabbit: Published[]; nats: Published[] }> {
  const has = (published: Published[]) => ids.every((id) => published.some((p) => p.id === id));
  await eventually(async () => has(rabbitSeen) || (await drainRabbit(rabbitSeen), false), timeoutMs, 'RabbitMQ');
  const nats = await eventually(
    async () => {
      const all = await readNats().catch(() => []);
      return has(all) ? all : undefined;
    },
    timeoutMs,
    'NATS',
  );
  return { rabbit: rabbitSeen, nats };
}

/** Nothing missing, nothing out of order: each event once (a duplicate carries its id), as the log holds them from the first. */
async function assertInLogOrder(published: Published[], name = '') {
  const ids = distinct(published.map((p) => p.id));
  assert.deepEqual(ids, (await logFrom(ids[0]!)).slice(0, ids.length), name);
}

test('every event goes to RabbitMQ and to NATS JetStream, in the log’s order, as the webhook envelope with its id', async () => {
  const received = await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'Kuyruğa' });
  const sent = await s.call('/messages/chat', { method: 'POST', json: { to: CEM, body: 'Yanıt' } });
  assert.ok([200, 202].includes(sent.status));
  const eventOf = async (event: string, messageId: string) =>
    (await gw.db('webhook_events').where({ instance_id: 'shop', event }).whereRaw("data->>'id' = ?", [messageId]).first())?.id as string;
  const wanted = await eventually(
    async () => {
      const ids = [await eventOf('message_received', received), await eventOf('message_ack', sent.body.id)];
      return ids.every(Boolean) ? ids : undefined;
    },
    20_000,
    'the events recorded',
  );
  const { nats: fromNats } = await publishedBoth(wanted, 20_000);
  for (const [name, published] of [
    ['RabbitMQ', rabbitSeen],
    ['NATS', fromNats],
  ] as const) {
    const message = published.find((p) => p.id === wanted[0])!;
    assert.equal(message.event, 'message_received', name);
    assert.equal(message.instance, 'shop', name);
    assert.equal(message.key, name === 'RabbitMQ' ? 'shop.message_received' : 'wa.shop.message_received');
    assert.equal(message.messageId, message.id, `${name}: the message id is the event id`);
    await assertInLogOrder(published, name);
  }
});

test('brokers killed while events are recorded: /ready and /metrics say so; once back, every event goes out, in order', async () => {
  await Promise.all([rabbit.kill(), nats.kill()]);
  const recorded: string[] = [];
  for (let i = 0; i < 20; i++) recorded.push(await recordEvent(gw.db, 'shop', 'webhook_test', { n: i }));
  recorded.push(
    await sendFromPhone(sim, sim.user(CEM), sim.user(OWNER), { conversation: 'Broker yokken' }).then(async (id) =>
      eventually(
        async () => (await gw.db('webhook_events').where({ event: 'message_received' }).whereRaw("data->>'id' = ?", [id]).first())?.id,
        20_000,
        'recorded',
      ),
    ),
  );

  const ready = await eventually(
    async () => {
      const body = (await (await fetch(`${gw.baseUrl}/ready`)).json()) as {
        sinks?: Record<string, { ok: boolean; lastError: string | null; behind: number }>;
      };
      return body.sinks?.amqp?.ok === false && body.sinks?.nats?.ok === false ? body : undefined;
    },
    40_000,
    '/ready saying the brokers are unreachable',
  );
  assert.ok(ready.sinks!.amqp!.lastError, 'with the error');
  assert.ok(ready.sinks!.amqp!.behind >= recorded.length, `${ready.sinks!.amqp!.behind} events behind`);
  const metrics = await (await gw.request('/metrics')).text();
  assert.match(metrics, /^wa_event_sink_up\{sink="amqp"\} 0$/m);
  assert.match(metrics, /^wa_event_sink_up\{sink="nats"\} 0$/m);

  await Promise.all([rabbit.start(), nats.start()]);
  const back = await publishedBoth(recorded, 90_000);
  for (const published of [back.rabbit, back.nats]) await assertInLogOrder(published);
  await eventually(
    async () => {
      const body = (await (await fetch(`${gw.baseUrl}/ready`)).json()) as { sinks: Record<string, { ok: boolean; behind: number }> };
      return body.sinks.amqp!.ok && body.sinks.nats!.ok && body.sinks.amqp!.behind === 0;
    },
    30_000,
    '/ready saying they are back',
  );
});

test('the worker killed while it publishes: another takes over, and every event arrives (a duplicate with the same id)', async () => {
  const recording = (async () => {
    const ids: string[] = [];
    for (let i = 0; i < 300; i++) ids.push(await recordEvent(gw.db, 'shop', 'webhook_test', { n: i, burst: true }));
    return ids;
  })();
  await new Promise((r) => setTimeout(r, 300));
  await gw.workers[0]!.stop('SIGKILL');
  gw.startWorker('w2');
  const recorded = await recording;
  const taken = await publishedBoth(recorded, 90_000);
  for (const published of [taken.rabbit, taken.nats]) {
    await assertInLogOrder(published);
    // A duplicate is the same event (same id, same type), never another one under its id.
    for (const p of published) assert.equal(p.messageId, p.id);
  }
});
