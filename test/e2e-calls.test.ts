// Incoming calls: recorded, a `call` webhook event each, and declined (with a text reply) when the instance says so.
// The real gateway and Baileys; the simulator's phones call the account.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { lidJid } from '../simulator/directory.js';
import { eventually, type Gateway } from './support/gateway.js';
import type { Receiver } from './support/receiver.js';
import { jid, scenario } from './support/scenario.js';

let sim: Simulator;
let gw: Gateway;
let receiver: Receiver;
const OWNER = '905553300001';
const CALLER = '905553300002';

const s = scenario({
  name: 'e2e_calls',
  users: [
    [OWNER, 'Çağrı Merkezi'],
    [CALLER, 'Arayan'],
  ],
  receiver: true,
  // The general worker's sweeps (among them the one that ends calls whose end never came) every 2 s.
  env: { OUTBOX_SWEEP_SECONDS: '2' },
  instances: [{ id: 'desk', phone: OWNER, webhook: 'connect' }],
});
before(async () => {
  ({ sim, gw, receiver } = await s.start());
  await eventually(async () => receiver.byEvent('connection_status').find((r) => r.json.data.status === 'connected'), 30_000, 'connected');
});
after(() => s.stop());

const json = async (res: Response) => (await res.json()) as Record<string, any>;
const callEvents = (id: string) =>
  receiver
    .byEvent('call')
    .filter((r) => r.json.data.id === id)
    .map((r) => r.json.data);
const listed = async (id: string) => ((await json(await gw.request('/api/instance/desk/calls'))).calls as any[]).find((c) => c.id === id);
const settings = (body: unknown) => gw.request('/api/instance/desk/settings', { method: 'POST', json: body });

test('with rejectCalls off, a call is recorded and sent as a `call` event, and keeps ringing; hanging up makes it missed', async () => {
  const calledAt = Date.now();
  const call = await sim.call(CALLER, OWNER);
  await eventually(async () => listed(call.id), 20_000, 'the call recorded');
  const recordedAfter = Date.now() - calledAt;
  const [offered] = await eventually(async () => (callEvents(call.id).length ? callEvents(call.id) : undefined), 20_000, 'the call event');
  assert.deepEqual(
    { ...offered, timestamp: typeof offered!.timestamp },
    // The simulator names the caller by LID, with its number beside (caller_pn): both reach the client.
    {
      id: call.id,
      from: jid(CALLER),
      fromLid: lidJid(sim.user(CALLER).lid),
      video: false,
      group: false,
      status: 'offered',
      timestamp: 'number',
    },
  );
  process.stdout.write(`# a call recorded ${recordedAfter} ms after it rang, its webhook delivered after ${Date.now() - calledAt} ms\n`);
  assert.equal((await listed(call.id)).status, 'offered');
  // Nobody declined it: the caller's phone still rings.
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(sim.callById(call.id).status, 'ringing');

  const hungUpAt = Date.now();
  await sim.callRegistry.hangUp(call);
  await eventually(async () => (await listed(call.id)).status === 'missed', 20_000, 'recorded missed');
  const missedAfter = Date.now() - hungUpAt;
  await eventually(async () => callEvents(call.id).some((e) => e.status === 'missed'), 20_000, 'the missed event');
  process.stdout.write(`# hung up: recorded missed after ${missedAfter} ms, its webhook after ${Date.now() - hungUpAt} ms\n`);
  assert.equal((await listed(call.id)).status, 'missed');
  assert.deepEqual(
    callEvents(call.id).map((e) => e.status),
    ['offered', 'missed'],
  );
});

test('a call whose end never reaches the gateway is missed two minutes after it rang; a ringing one is left alone', async () => {
  const lost = await sim.call(CALLER, OWNER);
  const ringing = await sim.call(CALLER, OWNER);
  await eventually(async () => (await listed(lost.id)) && (await listed(ringing.id)), 20_000, 'both recorded');
  // As if the first had rung three minutes ago and its end had been lost with the socket.
  await gw
    .db('calls')
    .where({ instance_id: 'desk', id: lost.id })
    .update({ timestamp: Math.floor(Date.now() / 1000) - 180 });
  await eventually(async () => (await listed(lost.id)).status === 'missed', 20_000, 'the lost call missed');
  await eventually(async () => callEvents(lost.id).some((e) => e.status === 'missed'), 20_000, 'its missed event');
  await new Promise((r) => setTimeout(r, 4_000));
  assert.equal((await listed(ringing.id)).status, 'offered', 'a call ringing now is not touched');
  await sim.callRegistry.hangUp(ringing);
  await sim.callRegistry.hangUp(lost);
  await eventually(async () => (await listed(ringing.id)).status === 'missed', 20_000, 'hung up');
  assert.deepEqual(
    callEvents(lost.id).map((e) => e.status),
    ['offered', 'missed'],
    'its real end, when it comes, changes nothing',
  );
});

test('a video call answered on the phone is accepted-elsewhere', async () => {
  const call = await sim.call(CALLER, OWNER, { video: true });
  await eventually(async () => callEvents(call.id).length > 0, 20_000, 'the offer');
  await sim.callRegistry.answer(call);
  await eventually(async () => (await listed(call.id))?.status === 'accepted-elsewhere', 20_000, 'accepted elsewhere');
  // The event reaches the receiver through webhook delivery, a moment after the call's row changes.
  const ended = await eventually(async () => callEvents(call.id).find((e) => e.status !== 'offered'), 20_000, 'the end event');
  assert.equal(ended.status, 'accepted-elsewhere');
  assert.equal(ended.video, true);
});

test('with rejectCalls on, the call is declined (the caller learns it), the caller gets the text reply, the event says rejected', async () => {
  const reply = 'Şu an arama kabul edemiyoruz, lütfen yazın.';
  assert.equal((await settings({ rejectCalls: true, rejectCallsMessage: reply })).status, 200);
  const shown = await json(await gw.request('/api/instance/desk/settings'));
  assert.equal(shown.rejectCalls, 'true');
  assert.equal(shown.rejectCallsMessage, reply);

  const sentBefore = sim.received.length;
  const call = await sim.call(CALLER, OWNER);
  const declined = await eventually(
    async () => (sim.callById(call.id).status === 'rejected' ? sim.callById(call.id) : undefined),
    20_000,
    'the reject',
  );
  const device = [...sim.user(OWNER).companions.values()].find((c) => !c.removed)!;
  assert.equal(declined.rejectedBy, device.deviceId, "the gateway's device declined it");

  const [event] = await eventually(async () => (callEvents(call.id).length ? callEvents(call.id) : undefined), 20_000, 'the call event');
  assert.equal(event!.status, 'rejected');
  assert.equal(event!.from, jid(CALLER));
  assert.equal((await listed(call.id)).status, 'rejected');

  const text = await eventually(
    async () => sim.received.slice(sentBefore).find((m) => m.to === CALLER && !m.ownCopy),
    20_000,
    'the reply at the caller',
  );
  assert.equal(text.message.conversation ?? text.message.extendedTextMessage?.text, reply);
  // Through the outbox: stored as the instance's message, sent, from the automatic call replies.
  const row = await eventually(
    async () => {
      const r = await gw.db('messages').where({ instance_id: 'desk', id: text.id }).first();
      return r && r.status !== 'pending' ? r : undefined;
    },
    20_000,
    'the reply stored as sent',
  );
  assert.equal(row.source, 'call');
  assert.equal(row.chat_id, jid(CALLER));
  assert.equal(row.body, reply);
  // WhatsApp's end of the call later changes nothing: it stays rejected, one event.
  await new Promise((r) => setTimeout(r, 500));
  assert.deepEqual(
    callEvents(call.id).map((e) => e.status),
    ['rejected'],
  );
});

test('with rejectCalls on and no message, the call is declined without a reply', async () => {
  assert.equal((await settings({ rejectCallsMessage: '' })).status, 200);
  assert.equal((await json(await gw.request('/api/instance/desk/settings'))).rejectCallsMessage, '');
  const sentBefore = sim.received.length;
  const call = await sim.call(CALLER, OWNER);
  await eventually(async () => sim.callById(call.id).status === 'rejected', 20_000, 'the reject');
  await eventually(async () => callEvents(call.id).some((e) => e.status === 'rejected'), 20_000, 'the event');
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(sim.received.slice(sentBefore).filter((m) => m.to === CALLER).length, 0);
  assert.equal((await settings({ rejectCalls: false })).status, 200);
});

test('call settings and the calls list refuse what they cannot use', async () => {
  for (const body of [
    { rejectCalls: 'maybe' },
    { rejectCalls: 1 },
    { rejectCallsMessage: 42 },
    { rejectCallsMessage: 'x'.repeat(4_097) },
  ]) {
    const res = await settings(body);
    assert.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
    assert.match((await json(res)).error, /rejectCalls/);
  }
  // Strings, as the original API sends them.
  assert.equal((await settings({ rejectCalls: 'false' })).status, 200);
  assert.equal((await json(await gw.request('/api/instance/desk/settings'))).rejectCalls, 'false');
  for (const query of ['limit=0', 'limit=abc', 'limit=501', 'before=-1']) {
    assert.equal((await gw.request(`/api/instance/desk/calls?${query}`)).status, 400, query);
  }
  const page = await json(await gw.request('/api/instance/desk/calls?limit=2'));
  assert.equal(page.calls.length, 2);
  const next = await json(await gw.request(`/api/instance/desk/calls?limit=50&before=${page.calls[1].timestamp}`));
  assert.ok(next.calls.every((c: { timestamp: number }) => c.timestamp < page.calls[1].timestamp));
  assert.equal((await gw.request('/api/instance/nosuch/calls')).status, 404);
});
