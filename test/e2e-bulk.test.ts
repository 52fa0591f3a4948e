// Bulk campaigns through the gateway, on real Baileys against the simulator: every recipient once,
// spaced by the delay; cancel, pause and resume; opt-out by keyword; through a disconnect; worker
// kills; 100,000 recipients accepted and paged; bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import { eventually, type Gateway } from './support/gateway.js';
import type { Receiver } from './support/receiver.js';
import { jid, scenario } from './support/scenario.js';

let sim: Simulator;
let gw: Gateway;
let receiver: Receiver;
const OWNER = '905553400001';
const phones = Array.from({ length: 40 }, (_, i) => `9055534${String(10_000 + i).slice(1)}`);

const s = scenario({
  name: 'e2e_bulk',
  users: phones.map((phone, i) => [phone, `Kişi ${i}`] as const),
  receiver: true,
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => ({ sim, gw, receiver } = await s.start()));
after(() => s.stop());
const { call } = s;
const start = async (json: Record<string, unknown>) => {
  const res = await call<{ success: boolean; jobId: number; error?: string }>('/bulk', { method: 'POST', json });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.jobId;
};
const job = (id: number, query = '') => call(`/bulk/${id}${query}`);
const textOf = (m: Simulator['received'][number]) => m.message.conversation ?? m.message.extendedTextMessage?.text;
const got = (phone: string, text: string) => sim.received.filter((m) => m.to === phone && !m.ownCopy && textOf(m) === text);
const finished = (id: number, status = 'completed') =>
  eventually(async () => ((await job(id)).body.status === status ? (await job(id)).body : undefined), 60_000, `job ${id} ${status}`);

test('a campaign reaches every recipient once, with {name} filled in, spaced by its delay, and reports bulk_completed', async () => {
  const recipients = phones.slice(0, 4).map((p, i) => ({ id: p, name: `Kişi ${i}` }));
  const id = await start({ recipients, body: 'Merhaba {name}, kampanya başladı!', delay: 1 });
  const done = await finished(id);
  assert.deepEqual(done.counts, { pending: 0, sent: 4, failed: 0, cancelled: 0, skipped: 0 });
  const arrivals = recipients.map((r, i) => {
    const copies = got(r.id, `Merhaba Kişi ${i}, kampanya başladı!`);
    assert.equal(copies.length, 1, `${r.id} once`);
    return copies[0]!;
  });
  const sentAt = await Promise.all(
    arrivals.map(async (m) => new Date((await gw.db('messages').where({ instance_id: 'shop', id: m.id }).first()).sent_at).getTime()),
  );
  for (let i = 1; i < sentAt.length; i++) assert.ok(sentAt[i]! - sentAt[i - 1]! >= 950, `gap ${i}: ${sentAt[i]! - sentAt[i - 1]!} ms`);
  assert.deepEqual(
    done.recipients.map((r: { id: string; status: string; messageId: string }) => [r.id, r.status, r.messageId]),
    recipients.map((r, i) => [jid(r.id), 'sent', arrivals[i]!.id]),
  );
  const event = await eventually(
    async () => receiver.byEvent('bulk_completed').find((r) => r.json.data.jobId === id),
    20_000,
    'bulk_completed',
  );
  assert.equal(event.json.data.sent, 4);
  const listed = await call<{ jobs: Array<{ id: number; status: string; counts: { sent: number } }>; total: number }>('/bulk');
  assert.equal(listed.body.jobs.find((j) => j.id === id)!.counts.sent, 4);
});

test('cancelling stops further sends at once; the rest are cancelled; cancelling again is a 409', async () => {
  const recipients = phones.slice(4, 14).map((id) => ({ id }));
  const id = await start({ recipients, body: 'cancel me', delay: 1 });
  await eventually(async () => recipients.filter((r) => got(r.id, 'cancel me').length > 0).length >= 2, 30_000, 'two sent');
  assert.deepEqual((await call(`/bulk/${id}/cancel`, { method: 'POST' })).body, { success: true });
  const sentBefore = recipients.filter((r) => got(r.id, 'cancel me').length > 0).length;
  await new Promise((r) => setTimeout(r, 3_000));
  const sentAfter = recipients.filter((r) => got(r.id, 'cancel me').length > 0).length;
  assert.ok(sentAfter <= sentBefore + 1, `${sentAfter - sentBefore} sent after the cancel`);
  const shown = (await job(id)).body;
  assert.equal(shown.status, 'cancelled');
  assert.equal(shown.counts.cancelled + shown.counts.sent, 10);
  assert.ok(shown.counts.cancelled >= 10 - sentAfter - 0);
  const again = await call(`/bulk/${id}/cancel`, { method: 'POST' });
  assert.equal(again.status, 409);
  assert.match(again.body.error, /already ended/);
});

test('a paused campaign sends nothing until it is resumed, then finishes', async () => {
  const recipients = phones.slice(14, 20).map((id) => ({ id }));
  const id = await start({ recipients, body: 'pause me', delay: 1 });
  await eventually(async () => recipients.filter((r) => got(r.id, 'pause me').length > 0).length >= 2, 30_000, 'two sent');
  assert.deepEqual((await call(`/bulk/${id}/pause`, { method: 'POST' })).body, { success: true });
  await new Promise((r) => setTimeout(r, 1_500));
  const atPause = recipients.filter((r) => got(r.id, 'pause me').length > 0).length;
  await new Promise((r) => setTimeout(r, 3_000));
  assert.equal(recipients.filter((r) => got(r.id, 'pause me').length > 0).length, atPause, 'nothing while paused');
  assert.equal((await job(id)).body.status, 'paused');
  assert.equal((await call(`/bulk/${id}/pause`, { method: 'POST' })).status, 409);
  assert.deepEqual((await call(`/bulk/${id}/resume`, { method: 'POST' })).body, { success: true });
  await finished(id);
  for (const r of recipients) assert.equal(got(r.id, 'pause me').length, 1);
  assert.equal((await call(`/bulk/${id}/resume`, { method: 'POST' })).status, 409);
});

test('a contact who writes an opt-out keyword is skipped by campaigns, not by single sends', async () => {
  const [quitter, stayer] = [phones[20]!, phones[21]!];
  await sendFromPhone(sim, sim.user(quitter), sim.user(OWNER), { conversation: ' iptal ' });
  const listed = await eventually(
    async () => {
      const list = (await call<{ optouts: Array<{ id: string; source: string; keyword: string }> }>('/optouts')).body.optouts;
      return list.find((o) => o.id === jid(quitter));
    },
    20_000,
    'on the opt-out list',
  );
  assert.deepEqual([listed.source, listed.keyword], ['keyword', 'İPTAL']);
  const id = await start({ recipients: [{ id: quitter }, { id: stayer }], body: 'opt-out check', delay: 0 });
  const done = await finished(id);
  assert.deepEqual(
    done.recipients.map((r: { status: string }) => r.status),
    ['skipped', 'sent'],
  );
  assert.equal(got(quitter, 'opt-out check').length, 0);
  assert.equal(got(stayer, 'opt-out check').length, 1);
  const single = await call('/messages/chat', { method: 'POST', json: { to: quitter, body: 'a single send still goes' } });
  assert.equal(single.status, 200);
  assert.deepEqual((await call('/optouts', { method: 'DELETE', json: { chatId: quitter } })).body, { success: true });
  assert.equal((await call(`/optouts?chatId=${quitter}`, { method: 'DELETE' })).status, 404);
  assert.equal((await call('/optouts', { method: 'POST', json: { chatId: 'nope' } })).status, 400);
});

test('a campaign waits while the instance is offline, then sends everyone once', async () => {
  sim.faults.refuse = true;
  sim.dropConnections(OWNER);
  await eventually(async () => (await call('/status')).body.accountStatus.status !== 'open', 20_000, 'offline');
  const recipients = phones.slice(22, 25).map((id) => ({ id }));
  const id = await start({ recipients, body: 'after the outage', delay: 0 });
  await new Promise((r) => setTimeout(r, 3_000));
  const waiting = (await job(id)).body;
  assert.equal(waiting.status, 'running');
  assert.equal(waiting.counts.failed, 0, 'nobody failed');
  sim.faults.refuse = false;
  await finished(id);
  for (const r of recipients) assert.equal(got(r.id, 'after the outage').length, 1);
});

test('a worker killed twice mid-campaign leaves no duplicate and no gap', async () => {
  const recipients = phones.slice(25, 40).map((id) => ({ id }));
  const id = await start({ recipients, body: 'through the crashes', delay: 0.5 });
  for (const next of ['w2', 'w3']) {
    const before = recipients.filter((r) => got(r.id, 'through the crashes').length > 0).length;
    await eventually(
      async () => recipients.filter((r) => got(r.id, 'through the crashes').length > 0).length >= before + 3,
      60_000,
      'progress',
    );
    const victim = gw.workers.at(-1)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    gw.startWorker(next);
  }
  await finished(id);
  for (const r of recipients) assert.equal(got(r.id, 'through the crashes').length, 1, `${r.id} exactly once`);
});

test('100,000 recipients are accepted at once and their statuses paged', async () => {
  const recipients = Array.from({ length: 100_000 }, (_, i) => ({ id: `9055${String(i).padStart(8, '0')}`, name: `R${i}` }));
  const startedAt = Date.now();
  const id = await start({ recipients, body: 'later', startAt: new Date(Date.now() + 3_600_000).toISOString() });
  const tookMs = Date.now() - startedAt;
  process.stdout.write(`# POST .../bulk with 100,000 recipients answered in ${tookMs} ms\n`);
  const page = await job(id, '?limit=1000&page=100');
  assert.equal(page.body.status, 'scheduled');
  assert.equal(page.body.total, 100_000);
  assert.equal(page.body.recipientsTotal, 100_000);
  assert.equal(page.body.recipients.length, 1000);
  assert.equal(page.body.recipients[0].position, 99_000);
  assert.equal(page.body.recipients[0].id, jid('905500099000'));
  assert.equal(page.body.counts.pending, 100_000);
  assert.deepEqual((await call(`/bulk/${id}/cancel`, { method: 'POST' })).body, { success: true });
  assert.equal((await job(id)).body.counts.cancelled, 100_000);
});

test('bad input is a 400 naming the field; an unknown job is a 404', async () => {
  const ok = { recipients: [{ id: phones[0] }], body: 'x' };
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ ...ok, recipients: [] }, /^recipients: recipients must not be empty/],
    [{ ...ok, recipients: Array.from({ length: 100_001 }, () => ({ id: phones[0] })) }, /^recipients: recipients may hold at most 100,000/],
    [{ ...ok, recipients: [{ id: phones[0] }, { id: 'abc' }] }, /^recipients\.1\.id: must be a phone number/],
    [{ recipients: ok.recipients }, /^body: body is required/],
    [{ ...ok, messageType: 'image' }, /^mediaUrl: mediaUrl is required/],
    [{ ...ok, messageType: 'sticker' }, /^messageType: must be text, image or document/],
    [{ ...ok, delay: -1 }, /^delay: delay must be between 0 and 3600/],
    [{ ...ok, delay: 3_601 }, /^delay: delay must be between 0 and 3600/],
    [{ ...ok, delay: 5, delayMax: 2 }, /^delayMax: delayMax must not be less than delay/],
    [{ ...ok, startAt: 'soon' }, /^startAt: must be an ISO 8601 time/],
  ];
  for (const [json, error] of cases) {
    const res = await call('/bulk', { method: 'POST', json });
    assert.equal(res.status, 400, JSON.stringify(json).slice(0, 100));
    assert.match(res.body.error, error);
  }
  assert.equal((await job(999_999)).status, 404);
  assert.equal((await call('/bulk/999999/cancel', { method: 'POST' })).status, 404);
  assert.equal((await job('x' as unknown as number)).status, 400);
});
