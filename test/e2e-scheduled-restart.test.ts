// Scheduled messages, a campaign and a chatbot reply survive a restart of every process: the worker
// and the API killed with kill -9 and Temporal restarted while their timers run; they still go out
// on time, once.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import type { RunningTemporal } from '../stack/temporal.js';
import { eventually, type Gateway } from './support/gateway.js';
import { scenario } from './support/scenario.js';
import { ownTemporal, type OwnTemporal } from './support/ownTemporal.js';

// This file restarts Temporal, so it runs its own dev server (its state in a file that survives the restart).
let own: OwnTemporal;
let temporal: RunningTemporal;
let sim: Simulator;
let gw: Gateway;
const OWNER = '905553300001';
const BURAK = '905553300002';
const CANSU = '905553300003';
const CAMPAIGN = ['905553300010', '905553300011', '905553300012', '905553300013', '905553300014', '905553300015'];

const s = scenario({
  name: 'e2e_scheduled_restart',
  users: [[BURAK, 'Burak'], [CANSU, 'Cansu'], ...CAMPAIGN.map((phone) => [phone, 'Müşteri'] as const)],
  env: () => ({ TEMPORAL_ADDRESS: temporal.address, TEMPORAL_NAMESPACE: 'default' }),
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => {
  own = await ownTemporal('scheduled-restart');
  temporal = await own.start();
  ({ sim, gw } = await s.start());
});
after(async () => {
  await s.stop();
  await temporal?.stop();
  own?.remove();
});

const texts = (text: string, to = BURAK) =>
  sim.received.filter((m) => m.to === to && !m.ownCopy && (m.message.conversation ?? m.message.extendedTextMessage?.text) === text);

test('scheduled messages go out on time, a campaign sends everyone once and a chatbot reply waits out its delay, across a restart of the worker, the API and Temporal', async () => {
  const rule = await gw.request('/api/instance/shop/chatbot/rules', {
    method: 'POST',
    json: { match_type: 'contains', trigger_text: 'randevu', response: 'Randevunuz için {name} Hanım, hemen dönüyoruz', delay: 20 },
  });
  assert.equal(rule.status, 200);
  const askedAt = Date.now();
  const asked = await sendFromPhone(sim, sim.user(CANSU), sim.user(OWNER), { conversation: 'Randevu almak istiyorum' });
  // Stored once its reply's workflow has started.
  await eventually(async () => gw.db('messages').where({ instance_id: 'shop', id: asked }).first(), 20_000, 'the question stored');

  const bulk = await gw.request('/api/instance/shop/bulk', {
    method: 'POST',
    json: { recipients: CAMPAIGN.map((id) => ({ id })), body: 'campaign across restarts', delay: 1 },
  });
  assert.equal(bulk.status, 200);
  const due = [20_000, 23_000, 26_000].map((ms) => Date.now() + ms);
  const ids: number[] = [];
  for (const [i, at] of due.entries()) {
    const res = await gw.request('/api/instance/shop/scheduled', {
      method: 'POST',
      json: { recipient: BURAK, body: `after restart ${i}`, scheduledAt: new Date(at).toISOString() },
    });
    assert.equal(res.status, 200);
    ids.push(((await res.json()) as { id: number }).id);
  }
  const eventsFrom = (await gw.db('webhook_events').where({ instance_id: 'shop' }).max('seq as seq').first())!.seq as number;
  gw.workers[0]!.child.kill('SIGKILL');
  gw.api.child.kill('SIGKILL');
  await Promise.all([gw.workers[0]!.exited, gw.api.exited]);
  await temporal.stop();
  temporal = await own.start();
  const api = await gw.startApi();
  gw.startWorker('w2');

  for (const [i] of due.entries()) await eventually(async () => texts(`after restart ${i}`)[0], 60_000, `message ${i}`);
  for (const phone of CAMPAIGN)
    await eventually(async () => texts('campaign across restarts', phone)[0], 60_000, `campaign message to ${phone}`);
  const reply = 'Randevunuz için Cansu Hanım, hemen dönüyoruz';
  await eventually(async () => texts(reply, CANSU)[0], 60_000, 'the chatbot reply');
  await new Promise((r) => setTimeout(r, 1_000));
  // A message due before the session was back (a loaded machine can take longer than 20 s to start it all
  // again) goes out when it is: on time means within a second of the later of the two.
  const reconnected = await gw
    .db('webhook_events')
    .where({ instance_id: 'shop', event: 'connection_status' })
    .where('seq', '>', eventsFrom)
    .orderBy('seq')
    .then((events) => events.find((e) => e.data.status === 'connected'));
  assert.ok(reconnected, 'the session connected again');
  const backAt = new Date(reconnected.created_at).getTime();
  process.stdout.write(`# the session was back ${backAt - (due[0]! - 20_000)} ms after the messages were scheduled\n`);
  for (const [i, id] of ids.entries()) {
    assert.equal(texts(`after restart ${i}`).length, 1, 'once');
    const shown = (await (
      await fetch(`${api.baseUrl}/api/instance/shop/scheduled/${id}`, { headers: { authorization: `Bearer ${gw.token}` } })
    ).json()) as {
      status: string;
      sentAt: string;
      lateMs: number;
    };
    assert.equal(shown.status, 'sent');
    const late = new Date(shown.sentAt).getTime() - Math.max(due[i]!, backAt);
    assert.ok(late < 1_000, `message ${i} went out ${late} ms after its time or the session's return (lateMs ${shown.lateMs})`);
  }
  for (const phone of CAMPAIGN) assert.equal(texts('campaign across restarts', phone).length, 1, `${phone} once`);
  assert.equal(texts(reply, CANSU).length, 1, 'one chatbot reply');
  const waited = texts(reply, CANSU)[0]!.receivedAt - askedAt;
  assert.ok(waited >= 20_000, `the reply came ${waited} ms after the question, before its delay`);
});
