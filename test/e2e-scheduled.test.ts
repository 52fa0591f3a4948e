// Scheduled messages through the gateway, on real Baileys against the simulator: sent at their
// time by a durable timer, once; cancelled; rescheduled; held while the instance is offline.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { eventually } from './support/gateway.js';
import type { Receiver } from './support/receiver.js';
import { jid, scenario } from './support/scenario.js';

let sim: Simulator;
let receiver: Receiver;
const OWNER = '905553200001';
const AYSE = '905553200002';

const s = scenario({ name: 'e2e_scheduled', users: [[AYSE, 'Ayşe']], receiver: true, instances: [{ id: 'shop', phone: OWNER }] });
before(async () => ({ sim, receiver } = await s.start()));
after(() => s.stop());

type Shown = {
  id: number;
  status: string;
  scheduledAt: string;
  sentAt: string | null;
  lateMs: number | null;
  messageId: string | null;
  body: string | null;
  error: string | null;
};
const { call } = s;
const schedule = (json: Record<string, unknown>) =>
  call<{ success: boolean; id: number; error?: string }>('/scheduled', { method: 'POST', json });
const inMs = (ms: number) => new Date(Date.now() + ms).toISOString();
const shown = async (id: number) => (await call<Shown>(`/scheduled/${id}`)).body;
const atAyse = (text: string) =>
  sim.received.filter((m) => m.to === AYSE && !m.ownCopy && (m.message.conversation ?? m.message.extendedTextMessage?.text) === text);

test('a scheduled message goes out at its time, not before, once, with {name} filled in and a scheduled_sent event', async () => {
  const at = Date.now() + 5_000;
  const created = await schedule({
    recipient: AYSE,
    recipientName: 'Ayşe',
    body: 'Merhaba {name}, randevunuz yarın.',
    scheduledAt: new Date(at).toISOString(),
  });
  assert.equal(created.status, 200);
  assert.equal(created.body.success, true);
  assert.equal((await shown(created.body.id)).status, 'pending');
  const text = 'Merhaba Ayşe, randevunuz yarın.';
  await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now() - 1_000)));
  assert.equal(atAyse(text).length, 0, 'not before its time');
  const got = await eventually(async () => atAyse(text)[0], 15_000, 'delivered');
  const row = await eventually(
    async () => {
      const s = await shown(created.body.id);
      return s.status === 'sent' ? s : undefined;
    },
    10_000,
    'marked sent',
  );
  assert.equal(row.messageId, got.id);
  assert.ok(row.lateMs! < 1_000, `went out ${row.lateMs} ms after its time`);
  await new Promise((r) => setTimeout(r, 1_000));
  assert.equal(atAyse(text).length, 1, 'once');
  const event = await eventually(
    async () => receiver.byEvent('scheduled_sent').find((r) => r.json.data.id === created.body.id),
    15_000,
    'scheduled_sent',
  );
  assert.equal(event.json.data.messageId, got.id);
  assert.equal(event.json.data.chatId, jid(AYSE));
});

test('a cancelled message never goes out; cancelling it again is a 409, an unknown one a 404', async () => {
  const created = await schedule({ recipient: AYSE, body: 'cancelled one', scheduledAt: inMs(3_000) });
  assert.deepEqual((await call(`/scheduled/${created.body.id}`, { method: 'DELETE' })).body, { success: true });
  assert.equal((await shown(created.body.id)).status, 'cancelled');
  await new Promise((r) => setTimeout(r, 5_000));
  assert.equal(atAyse('cancelled one').length, 0);
  const again = await call(`/scheduled/${created.body.id}`, { method: 'DELETE' });
  assert.equal(again.status, 409);
  assert.match(again.body.error, /no longer pending/);
  assert.equal((await call('/scheduled/999999', { method: 'DELETE' })).status, 404);
  assert.equal((await call('/scheduled/abc', { method: 'DELETE' })).status, 400);
});

test('rescheduled earlier it goes at the new time; rescheduled later it waits; the text can change', async () => {
  const sooner = await schedule({ recipient: AYSE, body: 'moved up', scheduledAt: inMs(60_000) });
  const newTime = Date.now() + 3_000;
  const moved = await call(`/scheduled/${sooner.body.id}`, {
    method: 'POST',
    json: { scheduledAt: new Date(newTime).toISOString(), body: 'moved up, new text' },
  });
  assert.equal(moved.status, 200);
  await eventually(async () => atAyse('moved up, new text')[0], 15_000, 'sent at the new time');
  assert.ok(Date.now() - newTime < 3_000);

  const later = await schedule({ recipient: AYSE, body: 'pushed back', scheduledAt: inMs(2_500) });
  const laterTime = Date.now() + 7_000;
  assert.equal(
    (await call(`/scheduled/${later.body.id}`, { method: 'POST', json: { scheduledAt: new Date(laterTime).toISOString() } })).status,
    200,
  );
  await new Promise((r) => setTimeout(r, 5_000));
  assert.equal(atAyse('pushed back').length, 0, 'not at the old time');
  await eventually(async () => atAyse('pushed back')[0], 15_000, 'sent at the later time');
  assert.ok(Date.now() >= laterTime - 100);
  const done = await call(`/scheduled/${later.body.id}`, { method: 'POST', json: { body: 'too late' } });
  assert.equal(done.status, 409);
});

test('a message due while the instance is offline goes out when it reconnects, its delay visible', async () => {
  sim.faults.refuse = true;
  sim.dropConnections(OWNER);
  const created = await schedule({ recipient: AYSE, body: 'while offline', scheduledAt: inMs(2_000) });
  await new Promise((r) => setTimeout(r, 5_000));
  const waiting = await shown(created.body.id);
  assert.equal(waiting.status, 'pending');
  assert.ok(waiting.lateMs! >= 2_000, `late by ${waiting.lateMs} ms`);
  assert.ok(waiting.messageId, 'handed to the outbox');
  assert.equal(atAyse('while offline').length, 0);
  sim.faults.refuse = false;
  await eventually(async () => atAyse('while offline')[0], 60_000, 'sent after the reconnect');
  const sent = await eventually(
    async () => {
      const s = await shown(created.body.id);
      return s.status === 'sent' ? s : undefined;
    },
    10_000,
    'marked sent',
  );
  assert.ok(sent.lateMs! >= 3_000, `late by ${sent.lateMs} ms`);
});

test('the list pages and filters by status', async () => {
  const all = await call<{ scheduled: Shown[]; total: number; page: number; limit: number }>('/scheduled?limit=2');
  assert.equal(all.status, 200);
  assert.equal(all.body.scheduled.length, 2);
  assert.ok(all.body.total >= 5);
  const cancelled = await call<{ scheduled: Shown[]; total: number }>('/scheduled?status=cancelled');
  assert.ok(cancelled.body.scheduled.length >= 1 && cancelled.body.scheduled.every((s) => s.status === 'cancelled'));
  assert.equal((await call('/scheduled?status=late')).status, 400);
});

test('bad input is a 400 naming the field', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ recipient: AYSE, body: 'x', scheduledAt: inMs(-60_000) }, /^scheduledAt: must be in the future/],
    [{ recipient: AYSE, body: 'x', scheduledAt: inMs(400 * 86_400_000) }, /^scheduledAt: must be at most a year ahead/],
    [{ recipient: AYSE, body: 'x', scheduledAt: 'tomorrow' }, /^scheduledAt: must be an ISO 8601 time/],
    [{ recipient: AYSE, body: 'x' }, /^scheduledAt is required/],
    [{ recipient: AYSE, scheduledAt: inMs(60_000) }, /^body: body is required/],
    [{ recipient: AYSE, messageType: 'image', scheduledAt: inMs(60_000) }, /^mediaUrl: mediaUrl is required/],
    [{ recipient: AYSE, messageType: 'video', body: 'x', scheduledAt: inMs(60_000) }, /^messageType: must be text, image or document/],
    [{ recipient: 'not a phone', body: 'x', scheduledAt: inMs(60_000) }, /^recipient: must be a phone number/],
    [{ body: 'x', scheduledAt: inMs(60_000) }, /^recipient is required/],
  ];
  for (const [json, error] of cases) {
    const res = await schedule(json);
    assert.equal(res.status, 400, JSON.stringify(json));
    assert.match(res.body.error!, error);
  }
});
