// Webhook delivery through the gateway's real processes (API, a worker) on real Postgres and Temporal,
// to real HTTP receivers: signing, the retry policy, order per chat, the delivery log and its routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { recordEvent, type GatewayEvent } from '../db/events.js';
import { backoffMs } from '../domain/webhookSchedule.js';
import { eventually, startGateway, type Gateway } from './support/gateway.js';
import { startReceiver, type Receiver } from './support/receiver.js';

let gw: Gateway;
const receivers: Receiver[] = [];

before(async () => {
  gw = await startGateway({
    name: 'webhooks',
    workers: 1,
    // A short schedule (0.3 s, 0.6 s, 1.2 s...) so that retries happen within a test.
    env: { WEBHOOK_BACKOFF_BASE_MS: '300', WEBHOOK_IDLE_MS: '3000' },
  });
});
after(async () => {
  await Promise.all(receivers.map((r) => r.stop()));
  await gw?.stop();
});

const newSecret = () => `whsec_${randomBytes(32).toString('base64')}`;

async function instanceWithReceiver(id: string, settings: Record<string, unknown> = {}): Promise<Receiver> {
  const receiver = await startReceiver();
  receivers.push(receiver);
  assert.equal((await gw.request('/api/instance', { method: 'POST', json: { id } })).status, 200);
  const res = await gw.request(`/api/instance/${id}/settings`, {
    method: 'POST',
    json: { webhookUrl: receiver.url, webhookEnabled: true, ...settings },
  });
  assert.equal(res.status, 200);
  return receiver;
}

/** Records an event the way the gateway does (in its own transaction); returns its id. */
async function record(instanceId: string, event: GatewayEvent, data: Record<string, unknown>): Promise<string> {
  const id = await recordEvent(gw.db, instanceId, event, data);
  assert.ok(id, 'recorded');
  return id;
}
const message = (chat: string, body: string) => ({
  id: `M${randomBytes(6).toString('hex')}`,
  chatId: `${chat}@s.whatsapp.net`,
  body,
  fromMe: false,
  type: 'chat',
});

async function json<T = Record<string, any>>(path: string, init?: Parameters<Gateway['request']>[1]): Promise<{ status: number; body: T }> {
  const res = await gw.request(path, init);
  return { status: res.status, body: (await res.json()) as T };
}
const deliveries = (id: string, query = '') =>
  json<{ deliveries: Array<Record<string, any>>; total: number }>(`/api/instance/${id}/webhooks/deliveries${query}`);
const delivery = (id: string, deliveryId: string) => json(`/api/instance/${id}/webhooks/deliveries/${deliveryId}`);
const delivered = (receiver: Receiver, eventId: string) => receiver.received.filter((r) => r.json.id === eventId && r.status === 200);

test('every event reaches the receiver once, signed per Standard Webhooks, in the contract envelope with an id and a seq', async () => {
  const secret = newSecret();
  const receiver = await instanceWithReceiver('signed', { webhookSecret: secret });
  const ids = [
    await record('signed', 'connection_status', {
      status: 'connected',
      account: { id: '905550000001@s.whatsapp.net', name: 'Shop', phone: '905550000001' },
    }),
    await record('signed', 'message_received', {
      ...message('905551111111', 'merhaba'),
      from: '905551111111@s.whatsapp.net',
      to: '905550000001@s.whatsapp.net',
      timestamp: 1711100000,
    }),
    await record('signed', 'message_ack', { id: '3EB0ABC', chatId: '905551111111@s.whatsapp.net', status: 'read', fromMe: true }),
  ];
  await eventually(async () => receiver.received.length >= 3, 20_000, 'three deliveries');
  const verifier = new Webhook(secret);
  for (const [i, got] of receiver.received.entries()) {
    const payload = verifier.verify(got.body, got.headers as Record<string, string>) as Record<string, unknown>;
    assert.deepEqual(Object.keys(payload).sort(), ['data', 'event', 'id', 'instance_id', 'seq', 'timestamp']);
    assert.equal(got.headers['webhook-id'], got.json.id);
    assert.equal(got.json.id, ids[i]);
    assert.equal(got.json.instance_id, 'signed');
    assert.ok(Math.abs(Number(got.headers['webhook-timestamp']) - Date.now() / 1000) < 60);
    assert.equal(got.headers['content-type'], 'application/json');
  }
  assert.deepEqual(
    receiver.received.map((r) => r.json.event),
    ['connection_status', 'message_received', 'message_ack'],
  );
  const seqs = receiver.received.map((r) => r.json.seq);
  assert.deepEqual(
    [...seqs].sort((a, b) => a - b),
    seqs,
    'seq increases',
  );
  assert.throws(
    () => new Webhook(newSecret()).verify(receiver.received[0]!.body, receiver.received[0]!.headers as Record<string, string>),
    'another secret does not verify',
  );
  // An answer is stored a moment after the receiver gave it.
  const log = await eventually(
    async () => {
      const listed = await deliveries('signed');
      return listed.body.deliveries.every((d) => d.status === 'delivered') ? listed : undefined;
    },
    5_000,
    'recorded as delivered',
  );
  assert.equal(log.body.total, 3);
  assert.ok(log.body.deliveries.every((d) => d.status === 'delivered' && d.attempts === 1 && d.lastStatusCode === 200 && d.deliveredAt));
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(receiver.received.length, 3, 'nothing is delivered twice');
});

test('without a secret no signature is sent, and the headers still carry the id and the time', async () => {
  const receiver = await instanceWithReceiver('unsigned');
  const id = await record('unsigned', 'webhook_test', { message: 'hi' });
  await eventually(async () => receiver.received.length === 1, 20_000, 'delivery');
  assert.equal(receiver.received[0]!.headers['webhook-id'], id);
  assert.ok(receiver.received[0]!.headers['webhook-timestamp']);
  assert.equal(receiver.received[0]!.headers['webhook-signature'], undefined);
});

test('a receiver failing with 500 five times, then recovering, gets each event once and in order, probed one attempt at a time', async () => {
  const receiver = await instanceWithReceiver('flaky');
  receiver.answers = [500, 500, 500, 500, 500];
  const ids: string[] = [];
  for (let i = 0; i < 10; i++)
    ids.push(await record('flaky', 'message_received', message(i % 2 ? '905552222222' : '905553333333', `m${i}`)));
  await eventually(async () => ids.every((id) => delivered(receiver, id).length === 1), 30_000, 'every event delivered');
  const failed = receiver.received.filter((r) => r.status === 500);
  assert.equal(failed.length, 5);
  // The first failure may meet a few attempts already under way (one per chat); from then on the receiver is
  // probed with one attempt at a time, after growing pauses.
  const rounds: (typeof failed)[] = [];
  for (const r of failed) {
    const last = rounds.at(-1);
    if (last && r.at - last[0]!.at < 100) last.push(r);
    else rounds.push([r]);
  }
  assert.ok(rounds.length >= 3, `${rounds.length} rounds`);
  assert.ok(
    rounds.slice(1).every((round) => round.length === 1 && round[0]!.inFlightAtArrival === 1),
    'one probe at a time',
  );
  // The schedule's pauses less their 20 % jitter (Temporal may fire a timer up to a second late).
  const gaps = rounds.slice(1).map((round, i) => round[0]!.at - rounds[i]![0]!.at);
  gaps.forEach((gap, i) => assert.ok(gap >= 0.8 * backoffMs(i + 1, 300), `pause ${i + 1}: ${gap} ms`));
  assert.ok(gaps.at(-1)! > gaps[0]!, `the pauses grow: ${gaps.join(', ')} ms`);
  for (const id of ids) assert.equal(delivered(receiver, id).length, 1, 'each event once');
  for (const chat of ['905552222222@s.whatsapp.net', '905553333333@s.whatsapp.net']) {
    const order = receiver.received.filter((r) => r.status === 200 && r.json.data.chatId === chat).map((r) => r.json.seq);
    assert.deepEqual(
      [...order].sort((a, b) => a - b),
      order,
      `${chat} in order`,
    );
  }
  const first = await eventually(
    async () => {
      const shown = await delivery('flaky', failed[0]!.json.id);
      return shown.body.status === 'delivered' ? shown : undefined;
    },
    5_000,
    'recorded as delivered',
  );
  assert.deepEqual(
    first.body.attempts.map((a: { statusCode: number }) => a.statusCode),
    [...failed.filter((r) => r.json.id === failed[0]!.json.id).map(() => 500), 200],
  );
  assert.equal(first.body.attemptCount, first.body.attempts.length);
  assert.ok(first.body.attempts.every((a: { at: string; durationMs: number }) => !Number.isNaN(Date.parse(a.at)) && a.durationMs >= 0));
});

test('a 4xx fails that event for good while the others are delivered', async () => {
  const receiver = await instanceWithReceiver('picky');
  receiver.decide = (r) => (r.json.data.body === 'bad' ? { status: 422, body: 'unprocessable: bad' } : undefined);
  const bad = await record('picky', 'message_received', message('905554444444', 'bad'));
  const good = await record('picky', 'message_received', message('905554444444', 'good'));
  await eventually(async () => delivered(receiver, good).length === 1, 20_000, 'the good event');
  const log = await eventually(
    async () => {
      const shown = await delivery('picky', bad);
      return shown.body.status === 'failed' ? shown : undefined;
    },
    5_000,
    'recorded as failed',
  );
  assert.equal(log.body.lastStatusCode, 422);
  assert.match(log.body.lastError, /HTTP 422: unprocessable: bad/);
  assert.equal(log.body.nextAttemptAt, null);
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(receiver.received.filter((r) => r.json.id === bad).length, 1, 'never tried again');
});

test('410 Gone switches the webhook off; pending events wait until it is switched on again', async () => {
  const receiver = await instanceWithReceiver('gone');
  receiver.answers = [410];
  const first = await record('gone', 'connection_status', { status: 'connecting', account: null });
  const second = await record('gone', 'connection_status', { status: 'connected', account: null });
  await eventually(async () => (await json('/api/instance/gone/settings')).body.webhookEnabled === 'false', 20_000, 'webhook switched off');
  const gone = await delivery('gone', first);
  assert.equal(gone.body.status, 'failed');
  assert.match(gone.body.lastError, /410/);
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal((await delivery('gone', second)).body.status, 'pending');
  assert.equal(receiver.received.length, 1);
  assert.equal((await json('/api/instance/gone/settings', { method: 'POST', json: { webhookEnabled: true } })).status, 200);
  await eventually(async () => delivered(receiver, second).length === 1, 20_000, 'delivered after switching on');
  assert.equal(delivered(receiver, first).length, 0);
});

test('429 waits for Retry-After before the next attempt', async () => {
  const receiver = await instanceWithReceiver('throttled');
  receiver.answers = [{ status: 429, headers: { 'retry-after': '2' } }];
  const id = await record('throttled', 'webhook_test', { message: 'x' });
  await eventually(async () => delivered(receiver, id).length === 1, 20_000, 'delivery after the wait');
  const [refused, accepted] = receiver.received;
  assert.equal(refused!.status, 429);
  assert.ok(accepted!.at - refused!.at >= 1_900, `waited ${accepted!.at - refused!.at} ms`);
});

test("each chat's events arrive one at a time and in order, different chats in parallel", async () => {
  const receiver = await instanceWithReceiver('lanes');
  receiver.delayMs = 40;
  const chats = ['905556000001', '905556000002', '905556000003', '905556000004'];
  const ids: string[] = [];
  for (let i = 0; i < 40; i++) ids.push(await record('lanes', 'message_received', message(chats[i % chats.length]!, `m${i}`)));
  ids.push(await record('lanes', 'connection_status', { status: 'connected', account: null }));
  await eventually(async () => ids.every((id) => delivered(receiver, id).length === 1), 30_000, 'all delivered');
  for (const chat of chats) {
    const mine = receiver.received.filter((r) => r.json.data.chatId === `${chat}@s.whatsapp.net`);
    assert.equal(mine.length, 10);
    assert.deepEqual(
      mine.map((r) => r.json.seq),
      [...mine.map((r) => r.json.seq)].sort((a, b) => a - b),
      'in order',
    );
    for (let i = 1; i < mine.length; i++)
      assert.ok(mine[i]!.at >= mine[i - 1]!.answeredAt!, 'the next one only after the previous was answered');
  }
  assert.ok(receiver.maxInFlight > 1, `chats in parallel (at most ${receiver.maxInFlight} at once)`);
});

test('the delivery log lists, filters and pages deliveries, newest first, and shows one whole', async () => {
  const receiver = await instanceWithReceiver('log');
  receiver.decide = (r) => (r.json.event === 'message_ack' ? 400 : undefined);
  const ids = [
    await record('log', 'message_received', message('905557000001', 'a')),
    await record('log', 'message_ack', { id: 'X1', chatId: '905557000001@s.whatsapp.net', status: 'sent', fromMe: true }),
    await record('log', 'message_received', message('905557000001', 'b')),
  ];
  await eventually(async () => (await deliveries('log', '?status=pending')).body.total === 0, 20_000, 'nothing pending');
  const all = await deliveries('log');
  assert.equal(all.body.total, 3);
  assert.deepEqual(
    all.body.deliveries.map((d) => d.id),
    [...ids].reverse(),
  );
  for (const d of all.body.deliveries) {
    assert.deepEqual(Object.keys(d).sort(), [
      'attempts',
      'chatId',
      'createdAt',
      'deliveredAt',
      'event',
      'id',
      'lastError',
      'lastStatusCode',
      'nextAttemptAt',
      'seq',
      'status',
    ]);
  }
  // Each names the chat it concerns, from its data: a message's chat; a group event's group; none for the instance's own.
  assert.deepEqual(
    all.body.deliveries.map((d) => d.chatId),
    ['905557000001@s.whatsapp.net', '905557000001@s.whatsapp.net', '905557000001@s.whatsapp.net'],
  );
  assert.deepEqual(
    (await deliveries('log', '?status=failed')).body.deliveries.map((d) => d.id),
    [ids[1]],
  );
  assert.equal((await deliveries('log', '?event=message_received')).body.total, 2);
  const paged = await deliveries('log', '?limit=2&page=2');
  assert.deepEqual(
    paged.body.deliveries.map((d) => d.id),
    [ids[0]],
  );
  assert.equal(paged.body.total, 3);
  const whole = await delivery('log', ids[0]!);
  assert.equal(whole.status, 200);
  assert.equal(whole.body.data.body, 'a');
  assert.equal(whole.body.attempts.length, 1);
  assert.equal(whole.body.attempts[0].statusCode, 200);
  assert.equal((await deliveries('log', '?status=lost')).status, 400);
  assert.equal((await deliveries('log', '?limit=0')).status, 400);
  assert.equal((await delivery('log', 'not-a-uuid')).status, 400);
  const unknown = await delivery('log', '00000000-0000-4000-8000-000000000000');
  assert.equal(unknown.status, 404);
  assert.ok(unknown.body.error);
  assert.equal((await delivery('signed', ids[0]!)).status, 404, "another instance's delivery is not found");
  const group = await record('log', 'group_update', { groupId: '120363000000000001@g.us', subject: 'Shop' });
  const own = await record('log', 'connection_status', { status: 'open' });
  const latest = (await deliveries('log', '?limit=2')).body.deliveries;
  assert.deepEqual(
    latest.map((d) => [d.id, d.chatId]),
    [
      [own, null],
      [group, '120363000000000001@g.us'],
    ],
  );
  assert.equal((await delivery('log', group)).body.chatId, '120363000000000001@g.us');
});

test('a delivery sent again (delivered or failed) reaches the receiver with the same webhook-id', async () => {
  const receiver = await instanceWithReceiver('replay');
  receiver.answers = [403];
  const rejected = await record('replay', 'message_received', message('905558000001', 'x'));
  const fine = await record('replay', 'message_received', message('905558000002', 'y'));
  await eventually(async () => (await deliveries('replay', '?status=pending')).body.total === 0, 20_000, 'settled');
  const before = receiver.received.length;
  for (const id of [rejected, fine]) {
    const res = await json(`/api/instance/replay/webhooks/deliveries/${id}/retry`, { method: 'POST' });
    assert.deepEqual(res, { status: 200, body: { success: true } });
  }
  await eventually(async () => delivered(receiver, rejected).length === 1 && delivered(receiver, fine).length === 2, 20_000, 'sent again');
  assert.equal(receiver.received.length, before + 2);
  assert.ok(receiver.received.slice(before).every((r) => r.headers['webhook-id'] === r.json.id));
  await eventually(async () => (await delivery('replay', rejected)).body.status === 'delivered', 5_000, 'recorded as delivered');
  assert.equal(
    (await json('/api/instance/replay/webhooks/deliveries/00000000-0000-4000-8000-000000000000/retry', { method: 'POST' })).status,
    404,
  );
});

test('POST .../webhooks/test records and delivers a webhook_test event at once', async () => {
  const receiver = await instanceWithReceiver('tested');
  const res = await json('/api/instance/tested/webhooks/test', { method: 'POST' });
  assert.equal(res.status, 200);
  assert.equal(res.body.success, true);
  await eventually(async () => delivered(receiver, res.body.id).length === 1, 20_000, 'test event');
  assert.equal(receiver.received[0]!.json.event, 'webhook_test');
  assert.equal((await json('/api/instance/tested/settings', { method: 'POST', json: { webhookEnabled: false } })).status, 200);
  const off = await json('/api/instance/tested/webhooks/test', { method: 'POST' });
  assert.equal(off.status, 409);
  assert.match(off.body.error, /switched off/);
});

test('webhookSecret: Standard Webhooks form only, shown masked, "" removes it', async () => {
  await instanceWithReceiver('secret');
  const set = (webhookSecret: unknown) => json('/api/instance/secret/settings', { method: 'POST', json: { webhookSecret } });
  for (const bad of [
    'secret',
    'whsec_',
    `whsec_${randomBytes(8).toString('base64')}`,
    `whsec_${randomBytes(80).toString('base64')}`,
    'whsec_!!!!',
    42,
  ]) {
    const res = await set(bad);
    assert.equal(res.status, 400, String(bad));
    assert.match(res.body.error, /^webhookSecret/);
  }
  const secret = newSecret();
  assert.equal((await set(secret)).status, 200);
  const shown = (await json('/api/instance/secret/settings')).body;
  assert.equal(shown.webhookSecret, `whsec_…${secret.slice(-4)}`);
  assert.ok(!JSON.stringify(shown).includes(secret.slice(6, 20)));
  assert.equal((await set('')).status, 200);
  assert.equal((await json('/api/instance/secret/settings')).body.webhookSecret, '');
});

test('the Temporal workflow of a failing receiver says so and when it probes next', async () => {
  const receiver = await instanceWithReceiver('down', {});
  receiver.answer = 503;
  await record('down', 'webhook_test', { message: 'x' });
  await eventually(async () => receiver.received.length >= 2, 20_000, 'two attempts');
  const { Client, Connection } = await import('@temporalio/client');
  const connection = await Connection.connect({ address: gw.env.TEMPORAL_ADDRESS! });
  try {
    const client = new Client({ connection, namespace: gw.env.TEMPORAL_NAMESPACE! });
    const described = await eventually(
      async () => {
        const d = await client.workflow.getHandle('webhooks-down').describe();
        return d.searchAttributes.WebhookState?.[0] === 'failing' ? d : undefined;
      },
      10_000,
      'failing state',
    );
    assert.deepEqual(described.searchAttributes.InstanceId, ['down']);
    const memo = described.memo as Record<string, unknown>;
    assert.ok(memo.failingSince && memo.nextAttemptAt, JSON.stringify(memo));
    assert.match(String(memo.lastError), /HTTP 503/);
    const list = await deliveries('down');
    assert.equal(list.body.deliveries[0]!.status, 'pending');
    assert.ok(list.body.deliveries[0]!.nextAttemptAt);
  } finally {
    await connection.close();
  }
  receiver.answer = 200;
});

test('changing the webhook while its receiver fails: the next attempt goes at once, to the new URL with the new secret', async () => {
  const old = await instanceWithReceiver('moved');
  old.answer = 503;
  const id = await record('moved', 'webhook_test', { message: 'x' });
  // Six failures: the next probe is at least 7.7 s away.
  await eventually(async () => old.received.length >= 6, 30_000, 'six failed attempts');
  const fresh = await startReceiver();
  receivers.push(fresh);
  const secret = newSecret();
  const changedAt = Date.now();
  assert.equal(
    (await json('/api/instance/moved/settings', { method: 'POST', json: { webhookUrl: fresh.url, webhookSecret: secret } })).status,
    200,
  );
  await eventually(async () => delivered(fresh, id).length === 1, 10_000, 'delivered to the new URL');
  assert.ok(fresh.received[0]!.at - changedAt < 4_000, `${fresh.received[0]!.at - changedAt} ms after the change`);
  assert.equal(
    (new Webhook(secret).verify(fresh.received[0]!.body, fresh.received[0]!.headers as Record<string, string>) as { id: string }).id,
    id,
  );
});

test('switching the webhook off pauses delivery; switching it on resumes it', async () => {
  const receiver = await instanceWithReceiver('paused');
  receiver.answer = 503;
  const id = await record('paused', 'webhook_test', { message: 'x' });
  await eventually(async () => receiver.received.length >= 1, 20_000, 'a failed attempt');
  assert.equal((await json('/api/instance/paused/settings', { method: 'POST', json: { webhookEnabled: false } })).status, 200);
  const attempts = receiver.received.length;
  await new Promise((r) => setTimeout(r, 3_000));
  assert.ok(receiver.received.length <= attempts + 1, 'no attempts while off (one may have been under way)');
  assert.equal((await delivery('paused', id)).body.status, 'pending');
  receiver.answer = 200;
  assert.equal((await json('/api/instance/paused/settings', { method: 'POST', json: { webhookEnabled: true } })).status, 200);
  await eventually(async () => delivered(receiver, id).length === 1, 10_000, 'delivered once switched on');
});

test('an event the receiver keeps refusing while it accepts others waits on its own schedule and holds up only its chat', async () => {
  const receiver = await instanceWithReceiver('poison');
  receiver.decide = (r) => (r.json.data.body === 'poison' ? 500 : undefined);
  const poison = await record('poison', 'message_received', message('905559100001', 'poison'));
  const behind = await record('poison', 'message_received', message('905559100001', 'behind it'));
  const others: string[] = [];
  for (let i = 0; i < 3; i++) others.push(await record('poison', 'message_received', message('905559100002', `other ${i}`)));
  await eventually(async () => others.every((id) => delivered(receiver, id).length === 1), 20_000, "the other chat's events");
  // Later events of other chats go as they come, while the refused one keeps being retried.
  await eventually(async () => receiver.received.filter((r) => r.json.id === poison).length >= 4, 20_000, 'retries of the refused event');
  for (let i = 0; i < 3; i++) {
    const id = await record('poison', 'message_received', message(`90555910001${i}`, 'later'));
    const recordedAt = Date.now();
    await eventually(async () => delivered(receiver, id).length === 1, 10_000, 'a later event');
    const waited = delivered(receiver, id)[0]!.at - recordedAt;
    assert.ok(waited < 3_000, `a later event waited ${waited} ms`);
    await new Promise((r) => setTimeout(r, 700));
  }
  assert.equal(receiver.received.filter((r) => r.json.id === behind).length, 0, 'its own chat waits behind it');
  assert.equal((await delivery('poison', poison)).body.status, 'pending');
});
