// Event streams (SSE and WebSocket) on real Baileys against the simulator, with no webhook: live events,
// resuming from a cursor with no gap and no duplicate, filters, tokens and scopes, a second API process,
// an event held back by an open transaction, and a client that does not keep up.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { sendFromPhone } from '../simulator/messages.js';
import type { Simulator } from '../simulator/simulator.js';
import { recordEvent } from '../db/events.js';
import { pruneDeliveries } from '../db/webhooks.js';
import { eventually, type Gateway } from './support/gateway.js';
import { jid, scenario } from './support/scenario.js';
import { openSse, openWs, type Envelope } from './support/eventStream.js';

const OWNER = '905557000001';
const CAFE = '905557000002';
const CEM = '905557000003';
const DENIZ = '905557000004';
let sim: Simulator;
let gw: Gateway;

const s = scenario({
  name: 'event_streams',
  users: [
    [OWNER, 'Owner'],
    [CAFE, 'Cafe'],
    [CEM, 'Cem'],
    [DENIZ, 'Deniz'],
  ],
  // A short heartbeat, so that the tests see it.
  env: { EVENTS_HEARTBEAT_SECONDS: '1' },
  // No webhook: streams read the event log all the same.
  instances: [
    { id: 'shop', phone: OWNER, settings: { webhookEnabled: false } },
    { id: 'cafe', phone: CAFE, settings: { webhookEnabled: false } },
  ],
});
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const auth = () => ({ authorization: `Bearer ${gw.token}` });
const text = (from: string, to: string, body: string) => sendFromPhone(sim, sim.user(from), sim.user(to), { conversation: body });
const received = (events: Envelope[], id: string) => events.some((e) => e.event === 'message_received' && e.data.id === id);
const CURSOR = /^\d+-\d+$/;

/** Cursors as the stream gives them are in the log's order. */
function assertOrdered(cursors: string[]) {
  const parsed = cursors.map((c) => c.split('-').map(BigInt) as [bigint, bigint]);
  for (let i = 1; i < parsed.length; i++) {
    const [a, b] = [parsed[i - 1]!, parsed[i]!];
    assert.ok(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), `${cursors[i - 1]} before ${cursors[i]}`);
  }
}

test('an SSE stream of an instance without a webhook gets its incoming messages live, as the webhook envelope', async () => {
  const stream = await openSse(`${gw.baseUrl}/api/instance/shop/events`, auth());
  try {
    assert.equal(stream.status, 200);
    // Its first message is an id alone: where a reconnecting EventSource resumes from.
    await stream.messages.until((all) => all.some((m) => m.id !== undefined), 5_000, 'the start id');
    const start = stream.messages.all.find((m) => m.id !== undefined)!;
    assert.match(start.id!, CURSOR);
    assert.equal(start.data, undefined);

    const id = await text(CEM, OWNER, 'Canlı akış');
    await stream.messages.until((all) => all.some((m) => m.event === 'message_received'), 20_000, 'message_received');
    const message = stream.messages.all.find((m) => m.event === 'message_received')!;
    assert.match(message.id!, CURSOR);
    const envelope = JSON.parse(message.data!) as Envelope;
    assert.deepEqual(Object.keys(envelope).sort(), ['data', 'event', 'id', 'instance_id', 'seq', 'timestamp']);
    assert.equal(envelope.event, 'message_received');
    assert.equal(envelope.instance_id, 'shop');
    assert.equal(envelope.data.id, id);
    assert.equal(envelope.data.body, 'Canlı akış');
    assert.equal(envelope.data.from, jid(CEM));
    // The same event the log keeps, with no webhook delivery behind it.
    const row = await gw.db('webhook_events').where({ id: envelope.id }).first();
    assert.equal(row.delivery_status, 'none');
    // Heartbeats keep it open: comments, each with how far the stream went.
    await stream.messages.until((all) => all.some((m) => m.comment === 'ping'), 5_000, 'a heartbeat');
  } finally {
    stream.close();
  }
});

test('a stream resumed with Last-Event-ID or ?after= replays what happened meanwhile, in order, then goes on live with no duplicate', async () => {
  const first = await openSse(`${gw.baseUrl}/api/instance/shop/events`, auth());
  const before = await text(CEM, OWNER, 'önce');
  await first.messages.until(() => received(first.events(), before), 20_000, 'the first message');
  const resumeFrom = first.lastId()!;
  first.close();

  // Meanwhile: messages from two people, and a send of the shop's own (with its acks).
  const missed = [await text(CEM, OWNER, 'ara 1'), await text(DENIZ, OWNER, 'ara 2'), await text(CEM, OWNER, 'ara 3')];
  const sent = await s.call('/messages/chat', { method: 'POST', json: { to: CEM, body: 'yanıt' } });
  assert.ok([200, 202].includes(sent.status), JSON.stringify(sent.body));
  await eventually(
    async () =>
      (await gw.db('webhook_events').where({ instance_id: 'shop', event: 'message_ack' }).whereRaw("data->>'id' = ?", [sent.body.id]))
        .length > 0,
    20_000,
    'an ack recorded',
  );
  // What a reader can see of the log now (as the stream reads it: below the oldest transaction still open).
  const inLog = await gw
    .db('webhook_events')
    .where({ instance_id: 'shop' })
    .whereRaw('(txid, seq) > (?::xid8, ?::bigint) and txid < pg_snapshot_xmin(pg_current_snapshot())', resumeFrom.split('-'))
    .orderBy(['txid', 'seq']);

  for (const how of ['Last-Event-ID', '?after='] as const) {
    const resumed =
      how === 'Last-Event-ID'
        ? await openSse(`${gw.baseUrl}/api/instance/shop/events?token=${gw.token}`, { 'last-event-id': resumeFrom })
        : await openSse(`${gw.baseUrl}/api/instance/shop/events?after=${resumeFrom}`, auth());
    try {
      assert.equal(resumed.status, 200, how);
      await resumed.messages.until(() => resumed.events().length >= inLog.length, 20_000, `the replay (${how})`);
      // Exactly what the log holds after the cursor, in its order: the missed messages among them, the one before not.
      assert.deepEqual(
        resumed
          .events()
          .slice(0, inLog.length)
          .map((e) => e.id),
        inLog.map((r) => r.id),
        how,
      );
      for (const id of missed) assert.ok(received(resumed.events(), id), `${how}: ${id} replayed`);
      assert.ok(!received(resumed.events(), before), `${how}: nothing before the cursor`);
      // Then live, at the seam, without a duplicate.
      const live = await text(DENIZ, OWNER, `canlı ${how}`);
      await resumed.messages.until(() => received(resumed.events(), live), 20_000, 'the live message');
      const ids = resumed.events().map((e) => e.id);
      assert.equal(new Set(ids).size, ids.length, `${how}: no event twice`);
      assertOrdered(resumed.messages.all.filter((m) => m.data !== undefined).map((m) => m.id!));
    } finally {
      resumed.close();
    }
  }
});

test('?types= keeps only the named events; bad filters and cursors are a 400, a cursor older than the retention a 410', async () => {
  const acks = await openSse(`${gw.baseUrl}/api/instance/shop/events?types=message_ack`, auth());
  try {
    await acks.messages.until((all) => all.some((m) => m.id !== undefined), 5_000, 'the start');
    await text(CEM, OWNER, 'süzülecek');
    const sent = await s.call('/messages/chat', { method: 'POST', json: { to: CEM, body: 'ack bekle' } });
    await acks.messages.until(() => acks.events().some((e) => e.data.id === sent.body.id), 20_000, 'an ack');
    assert.ok(acks.events().every((e) => e.event === 'message_ack'));
  } finally {
    acks.close();
  }

  const bad = async (query: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${gw.baseUrl}/api/instance/shop/events${query}`, { headers: { ...auth(), ...headers } });
    return { status: res.status, body: (await res.json()) as Record<string, string> };
  };
  const unknownType = await bad('?types=message_received,nope');
  assert.equal(unknownType.status, 400);
  assert.match(unknownType.body.error!, /^types: must be event names/);
  assert.equal((await bad('?after=yesterday')).status, 400);
  assert.equal((await bad('', { 'last-event-id': 'x' })).status, 400);

  // The retention deletes events (here all of them, as the workers' sweep does with older ones): a cursor
  // from before cannot be resumed without a gap.
  const old = (await gw.db('webhook_events').where({ instance_id: 'shop' }).orderBy(['txid', 'seq']).first('txid', 'seq'))!;
  assert.ok((await pruneDeliveries(gw.db, 0)) > 0);
  const expired = await bad(`?after=${old.txid}-${old.seq}`);
  assert.equal(expired.status, 410);
  assert.equal(expired.body.code, 'CURSOR_EXPIRED');
});

test('tokens: an instance token with read streams its own instance only; the all-instances stream is for the admin token', async () => {
  const make = async (scopes: string[]) =>
    ((await (await gw.request('/api/tokens', { method: 'POST', json: { instanceId: 'shop', scopes } })).json()) as { token: string }).token;
  const reader = await make(['read']);
  const sender = await make(['send']);

  const own = await openSse(`${gw.baseUrl}/api/instance/shop/events?token=${reader}`);
  assert.equal(own.status, 200);
  own.close();
  const ws = await openWs(`${gw.baseUrl.replace('http', 'ws')}/api/instance/shop/events/ws`, { 'x-api-key': reader });
  ws.close();

  const refused = async (path: string, token: string | null) => {
    const res = await fetch(`${gw.baseUrl}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, code: ((await res.json()) as { code: string }).code };
  };
  assert.deepEqual(await refused('/api/instance/cafe/events', reader), { status: 403, code: 'WRONG_INSTANCE' });
  assert.deepEqual(await refused('/api/instance/shop/events', sender), { status: 403, code: 'MISSING_SCOPE' });
  assert.deepEqual(await refused('/api/events', reader), { status: 403, code: 'ADMIN_ONLY' });
  assert.deepEqual(await refused('/api/instance/shop/events', null), { status: 401, code: 'UNAUTHORIZED' });
  assert.deepEqual(await refused('/api/instance/nowhere/events', gw.token), { status: 404, code: 'INSTANCE_NOT_FOUND' });
  // The same refusals on the WebSocket routes, as HTTP answers to the upgrade.
  const upgrade = (path: string, token?: string) =>
    openWs(`${gw.baseUrl.replace('http', 'ws')}${path}`, token ? { authorization: `Bearer ${token}` } : {}).then(
      (c) => (c.close(), { status: 101, code: undefined }),
      (err: { status: number; body: { code: string } }) => ({ status: err.status, code: err.body.code }),
    );
  assert.deepEqual(await upgrade('/api/events/ws', reader), { status: 403, code: 'ADMIN_ONLY' });
  assert.deepEqual(await upgrade('/api/instance/shop/events/ws', sender), { status: 403, code: 'MISSING_SCOPE' });
  assert.deepEqual(await upgrade('/api/instance/shop/events/ws'), { status: 401, code: 'UNAUTHORIZED' });
  assert.deepEqual(await upgrade('/api/instance/shop/events/ws?types=nope', gw.token), { status: 400, code: 'BAD_REQUEST' });
  // A WebSocket route called as plain HTTP.
  assert.deepEqual(await refused('/api/instance/shop/events/ws', gw.token), { status: 426, code: 'UPGRADE_REQUIRED' });
});

test('a WebSocket carries the envelopes with their cursors, filtered, and resumes with ?after=', async () => {
  const base = `${gw.baseUrl.replace('http', 'ws')}/api/events/ws?token=${gw.token}&types=message_received`;
  const ws = await openWs(base);
  const [toShop, toCafe] = [await text(CEM, OWNER, 'ws dükkan'), await text(DENIZ, CAFE, 'ws kafe')];
  await ws.frames.until((all) => received(all, toShop) && received(all, toCafe), 20_000, 'both instances');
  for (const frame of ws.frames.all) {
    assert.equal(frame.event, 'message_received');
    assert.match(frame.cursor!, CURSOR);
  }
  assert.deepEqual(new Set(ws.frames.all.map((f) => f.instance_id)), new Set(['shop', 'cafe']));
  const resumeFrom = ws.frames.all.at(-1)!.cursor!;
  ws.close();
  assert.equal((await ws.closed).code, 1005);

  const missed = await text(CEM, CAFE, 'ws kaçan');
  const resumed = await openWs(`${base}&after=${resumeFrom}`);
  try {
    await resumed.frames.until((all) => received(all, missed), 20_000, 'the missed message');
    assert.ok(!received(resumed.frames.all, toCafe) && !received(resumed.frames.all, toShop), 'nothing before the cursor');
    const live = await text(DENIZ, OWNER, 'ws canlı');
    await resumed.frames.until((all) => received(all, live), 20_000, 'live');
    assertOrdered(resumed.frames.all.map((f) => f.cursor!));
  } finally {
    resumed.close();
  }
});

test('an event recorded through the worker reaches a stream on a second API process', async () => {
  const second = await gw.startApi();
  const stream = await openSse(`${second.baseUrl}/api/events`, auth());
  try {
    await stream.messages.until((all) => all.some((m) => m.id !== undefined), 5_000, 'the start');
    const id = await text(DENIZ, CAFE, 'öbür API');
    await stream.messages.until(() => received(stream.events(), id), 5_000, 'the message on the second API');
  } finally {
    stream.close();
    await second.proc.stop();
  }
});

test('an event committed behind a transaction still open waits for it, so a stream never skips one', async () => {
  const stream = await openSse(`${gw.baseUrl}/api/instance/shop/events?types=webhook_test`, auth());
  try {
    await stream.messages.until((all) => all.some((m) => m.id !== undefined), 5_000, 'the start');
    const trx = await gw.db.transaction();
    const early = await recordEvent(trx, 'shop', 'webhook_test', { n: 'early' });
    // Recorded after, committed first.
    const late = await recordEvent(gw.db, 'shop', 'webhook_test', { n: 'late' });
    await new Promise((r) => setTimeout(r, 1_500));
    assert.deepEqual(stream.events(), [], 'nothing while the older transaction is open');
    await trx.commit();
    await stream.messages.until(() => stream.events().length === 2, 5_000, 'both');
    assert.deepEqual(
      stream.events().map((e) => e.id),
      [early, late],
    );
  } finally {
    stream.close();
  }
});

test('a client that stops reading is cut off with the cursor to resume from, and loses nothing by resuming', async () => {
  const api = await gw.startApi({ EVENTS_MAX_BUFFER_BYTES: '65536' });
  try {
    const start = await openSse(`${api.baseUrl}/api/instance/cafe/events?types=webhook_test`, auth());
    await start.messages.until((all) => all.some((m) => m.id !== undefined), 5_000, 'the start');
    const from = start.lastId()!;
    start.close();

    // A client that sends its request and then reads nothing.
    const { port } = new URL(api.baseUrl);
    const socket = net.connect(Number(port), '127.0.0.1');
    socket.write(
      `GET /api/instance/cafe/events?types=webhook_test&after=${from} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${gw.token}\r\n\r\n`,
    );
    await new Promise((r) => setTimeout(r, 300));
    socket.pause();
    // 100 events of 100 kB: more than the socket buffers hold.
    const big = 'x'.repeat(100_000);
    const ids: string[] = [];
    for (let i = 0; i < 100; i++) ids.push(await recordEvent(gw.db, 'cafe', 'webhook_test', { n: i, big }));
    await new Promise((r) => setTimeout(r, 2_000));
    let raw = '';
    socket.on('data', (chunk) => (raw += chunk.toString()));
    const ended = new Promise((r) => socket.on('close', r));
    socket.resume();
    await ended;
    const cut = /event: stream_error\ndata: (.*)\n\n/.exec(raw);
    assert.ok(cut, 'told why');
    const reason = JSON.parse(cut[1]!) as { code: string; cursor: string; error: string };
    assert.equal(reason.code, 'SLOW_CONSUMER');
    const got = [...raw.matchAll(/^data: (\{"event".*)$/gm)].map((m) => (JSON.parse(m[1]!) as Envelope).id);
    assert.ok(got.length < 100, `cut off after ${got.length}`);
    assert.deepEqual(got, ids.slice(0, got.length));

    // Resuming from the cursor it was given brings the rest, none twice.
    const rest = await openSse(`${api.baseUrl}/api/instance/cafe/events?types=webhook_test&after=${reason.cursor}`, auth());
    try {
      await rest.messages.until(() => rest.events().length >= 100 - got.length, 20_000, 'the rest');
      assert.deepEqual([...got, ...rest.events().map((e) => e.id)], ids);
      // The API process's metrics tell: one stream cut off, one open now.
      const metrics = await (await fetch(`${api.baseUrl}/metrics`, { headers: auth() })).text();
      assert.match(metrics, /^wa_event_streams_cut_total 1$/m);
      assert.match(metrics, /^wa_event_streams\{transport="sse"\} 1$/m);
    } finally {
      rest.close();
    }
  } finally {
    await api.proc.stop();
  }
});
