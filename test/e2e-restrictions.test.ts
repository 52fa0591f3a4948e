// WhatsApp's restriction signals (message capping, the reach-out timelock) through the gateway, on real
// Baileys against the simulator: shown in /status, delivered as account_restriction webhook events, and
// a running campaign paused while restricted and resumed when lifted; a user's own pause is kept.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { mountControlApi } from '../simulator/control.js';
import { eventually } from './support/gateway.js';
import type { Receiver } from './support/receiver.js';
import { scenario } from './support/scenario.js';

const OWNER = '905556200001';
const phones = Array.from({ length: 12 }, (_, i) => `9055562${String(10_000 + i).slice(1)}`);
let sim: Simulator;
let receiver: Receiver;

const s = scenario({
  name: 'e2e_restrictions',
  users: phones.map((phone, i) => [phone, `Kişi ${i}`] as const),
  prepare: mountControlApi,
  receiver: true,
  instances: [{ id: 'shop', phone: OWNER }],
});
before(async () => ({ sim, receiver } = await s.start()));
after(() => s.stop());

const call = async (path: string, json?: unknown) => s.call<any>(path, json === undefined ? {} : { method: 'POST', json });
/** What the simulated WhatsApp tells the account, through its control API. */
async function restrict(body: Record<string, unknown>) {
  const res = await fetch(`http://127.0.0.1:${sim.port}/control/restriction`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: OWNER, ...body }),
  });
  assert.equal(res.status, 200, await res.clone().text());
}
const startCampaign = async (recipients: string[], delay: number) => {
  const res = await call('/bulk', { recipients: recipients.map((id) => ({ id })), body: 'Kampanya {phone}', delay });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body.jobId as number;
};
const job = async (id: number) => (await call(`/bulk/${id}`)).body;
const jobIs = (id: number, check: (j: any) => boolean, what: string, timeoutMs = 30_000) =>
  eventually(
    async () => {
      const j = await job(id);
      return check(j) ? j : undefined;
    },
    timeoutMs,
    what,
  );
const restrictionEvent = (check: (data: Record<string, any>) => boolean, what: string): Promise<{ json: { data: Record<string, any> } }> =>
  eventually(async () => receiver.byEvent('account_restriction').find((r) => check(r.json.data)), 20_000, what);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

test('message capping: shown in status, a webhook event, a running campaign paused; lifted: resumed to completion, a user-paused one stays paused', async () => {
  const before = (await call('/status')).body;
  assert.deepEqual(before.accountStatus, { status: 'open' });
  assert.deepEqual(before.restrictions, { messageCapping: null, reachoutTimelock: null });

  const running = await startCampaign(phones.slice(0, 5), 2);
  const userPaused = await startCampaign(phones.slice(5, 7), 2);
  assert.equal((await call(`/bulk/${userPaused}/pause`, {})).status, 200);
  // One that the gateway pauses and the user then pauses too: the user's pause wins.
  const pausedTwice = await startCampaign(phones.slice(7, 9), 2);
  await jobIs(running, (j) => j.counts.sent >= 1, 'first message of the campaign');

  await restrict({ kind: 'messageCapping', active: true, totalQuota: 250, usedQuota: 250 });
  const status = await eventually(
    async () => {
      const body = (await call('/status')).body;
      return body.restrictions.messageCapping?.active ? body : undefined;
    },
    20_000,
    'capping in status',
  );
  assert.deepEqual(status.accountStatus, { status: 'open' }, 'existing fields unchanged');
  assert.equal(status.restrictions.messageCapping.status, 'CAPPED');
  assert.equal(status.restrictions.messageCapping.totalQuota, 250);
  assert.equal(status.restrictions.messageCapping.usedQuota, 250);
  assert.ok(Date.parse(status.restrictions.messageCapping.until) > Date.now(), 'until the cycle ends');
  assert.equal(status.restrictions.reachoutTimelock, null);

  const event = await restrictionEvent((d) => d.kind === 'messageCapping' && d.active, 'capping event');
  assert.equal(event.json.data.status, 'CAPPED');
  assert.equal(event.json.data.restricted, true);
  assert.ok(event.json.data.pausedCampaigns.includes(running), JSON.stringify(event.json.data));
  assert.ok(!event.json.data.pausedCampaigns.includes(userPaused), 'the user-paused one was not touched');

  const paused = await jobIs(running, (j) => j.status === 'paused', 'campaign paused');
  assert.equal(paused.pausedBy, 'restriction');
  await jobIs(pausedTwice, (j) => j.status === 'paused', 'second campaign paused');
  assert.equal((await call(`/bulk/${pausedTwice}/pause`, {})).status, 200, 'a user may pause a campaign the gateway paused');
  assert.equal((await job(pausedTwice)).pausedBy, 'user');
  // Nothing more goes out while capped (a message already handed to the outbox may still).
  await sleep(1_500);
  const sentWhilePaused = (await job(running)).counts.sent;
  await sleep(3_000);
  assert.equal((await job(running)).counts.sent, sentWhilePaused, 'no sends while capped');
  assert.ok(sentWhilePaused < 5);

  await restrict({ kind: 'messageCapping', active: false });
  const lifted = await restrictionEvent((d) => d.kind === 'messageCapping' && !d.active, 'lifting event');
  assert.equal(lifted.json.data.status, 'NONE');
  assert.equal(lifted.json.data.restricted, false);
  assert.deepEqual(lifted.json.data.resumedCampaigns, [running]);
  assert.equal((await call('/status')).body.restrictions.messageCapping.active, false);

  const done = await jobIs(running, (j) => j.status === 'completed', 'campaign completed', 60_000);
  assert.deepEqual(done.counts, { pending: 0, sent: 5, failed: 0, cancelled: 0, skipped: 0 });
  for (const phone of phones.slice(0, 5))
    assert.equal(sim.received.filter((m) => m.to === phone && !m.ownCopy).length, 1, `${phone} got it once`);
  for (const id of [userPaused, pausedTwice]) {
    const j = await job(id);
    assert.equal(j.status, 'paused', `campaign ${id} stays paused`);
    assert.equal(j.pausedBy, 'user');
  }
});

test('reach-out timelock with an end: the campaign pauses, and resumes by itself when the end passes', async () => {
  const id = await startCampaign(phones.slice(9, 12), 1);
  await jobIs(id, (j) => j.counts.sent >= 1, 'first message');
  const until = Date.now() + 5_000;
  await restrict({ kind: 'reachoutTimelock', active: true, until, enforcementType: 'BIZ_QUALITY' });
  const event = await restrictionEvent((d) => d.kind === 'reachoutTimelock' && d.active, 'timelock event');
  assert.equal(event.json.data.enforcementType, 'BIZ_QUALITY');
  // WhatsApp gives the end in seconds.
  assert.equal(Math.floor(Date.parse(event.json.data.until) / 1000), Math.floor(until / 1000));
  const status = (await call('/status')).body.restrictions.reachoutTimelock;
  assert.equal(status.active, true);
  assert.equal(status.enforcementType, 'BIZ_QUALITY');
  await jobIs(id, (j) => j.status === 'paused' && j.pausedBy === 'restriction', 'paused by the timelock');
  // No word from WhatsApp: the end passing lifts it.
  const done = await jobIs(id, (j) => j.status === 'completed', 'completed after the end', 60_000);
  assert.ok(Date.now() >= until, 'not before the end');
  assert.equal(done.counts.sent, 3);
  assert.equal((await call('/status')).body.restrictions.reachoutTimelock.active, false);
});

test('the control route refuses a bad restriction', async () => {
  const res = await fetch(`http://127.0.0.1:${sim.port}/control/restriction`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ phone: OWNER, kind: 'banned', active: true }),
  });
  assert.equal(res.status, 400);
  assert.match(((await res.json()) as { error: string }).error, /kind/);
});
