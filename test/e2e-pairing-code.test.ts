// Pairing an instance by phone-number code instead of a QR scan: the real gateway and Baileys, the simulator's phone.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { PairingCodeError } from '../simulator/pairingCode.js';
import { eventually, type Gateway } from './support/gateway.js';
import { scenario } from './support/scenario.js';
import { enableWebhook } from './support/pairing.js';

let sim: Simulator;
let gw: Gateway;
const s = scenario({ name: 'e2e_pairing_code', workers: 2 });
before(async () => ({ sim, gw } = await s.start()));
after(() => s.stop());

const json = async (res: Response) => (await res.json()) as Record<string, any>;
const status = async (id: string) => (await json(await gw.request(`/api/instance/${id}/status`))).accountStatus.status as string;
const askCode = (id: string, phone: unknown) => gw.request(`/api/instance/${id}/pairing-code`, { method: 'POST', json: { phone } });

/** Creates and connects an instance, and waits until it shows a QR (its socket is registering). */
async function connecting(id: string) {
  await gw.request('/api/instance', { method: 'POST', json: { id } });
  await enableWebhook(gw, id);
  assert.equal((await gw.request(`/api/instance/${id}/connect`, { method: 'POST' })).status, 200);
  await eventually(async () => (await json(await gw.request(`/api/instance/${id}/qr`))).qrCode, 30_000, 'a QR');
}

/** A code from the API; a 503 (the socket is not registering yet) is worth one more try. */
async function codeFor(id: string, phone: string): Promise<string> {
  return eventually(
    async () => {
      const res = await askCode(id, phone);
      const body = await json(res);
      if (res.status === 503) return undefined;
      assert.equal(res.status, 200, JSON.stringify(body));
      return body.code as string;
    },
    30_000,
    'a pairing code',
  );
}

const OWNER = '905551230701';

test('the API gives a code, the phone enters it, and the instance opens with the account and can send', async () => {
  sim.addUser(OWNER, 'Kodlu Dükkan');
  sim.addUser('905551230799', 'Müşteri');
  await connecting('bycode');
  // People write numbers with a plus and spaces.
  const code = await codeFor('bycode', '+90 555 123 07 01');
  assert.match(code, /^[0-9A-Z]{8}$/);
  const device = await sim.enterPairingCode(OWNER, code);
  const typedAt = Date.now();
  await eventually(async () => (await status('bycode')) === 'open', 30_000, 'open after the code');

  const me = await eventually(
    async () => {
      const body = await json(await gw.request('/api/instance/bycode/me'));
      return body.name ? body : undefined;
    },
    20_000,
    "the account's name",
  );
  process.stdout.write(`# open with its name ${Date.now() - typedAt} ms after the code was typed\n`);
  assert.equal(me.id, `${OWNER}:${device.deviceId}@s.whatsapp.net`);
  assert.equal(me.phone, OWNER);
  assert.equal(me.name, 'Kodlu Dükkan');
  // The QR is gone once paired.
  assert.equal((await json(await gw.request('/api/instance/bycode/qr'))).qrCode, null);
  const events = await gw.db('webhook_events').where({ instance_id: 'bycode', event: 'connection_status' }).orderBy('seq');
  assert.equal(events.at(-1).data.status, 'connected');
  assert.equal(events.at(-1).data.account.phone, OWNER);

  const sent = await gw.request('/api/instance/bycode/messages/chat', {
    method: 'POST',
    json: { to: '905551230799', body: 'paired by code' },
  });
  assert.ok([200, 201, 202].includes(sent.status), String(sent.status));
  const { id } = await json(sent);
  const received = await eventually(async () => sim.received.find((m) => m.id === id), 20_000, 'the message at the phone');
  assert.equal(received.to, '905551230799');
  assert.equal(received.message.conversation ?? received.message.extendedTextMessage?.text, 'paired by code');
});

test('a wrong code typed on the phone fails there and leaves the instance unpaired; a new code then pairs it', async () => {
  const PHONE = '905551230702';
  sim.addUser(PHONE, 'Yanlış Kod');
  await connecting('wrongcode');
  const code = await codeFor('wrongcode', PHONE);
  const wrong = code.startsWith('A') ? `B${code.slice(1)}` : `A${code.slice(1)}`;
  await assert.rejects(sim.enterPairingCode(PHONE, wrong), (err: unknown) => err instanceof PairingCodeError && err.kind === 'wrongCode');
  assert.equal(sim.user(PHONE).companions.size, 0, 'no device linked to the account');
  // Given a moment, nothing opens.
  await new Promise((r) => setTimeout(r, 1_500));
  assert.equal(await status('wrongcode'), 'connecting');
  assert.equal((await gw.request('/api/instance/wrongcode/me')).status, 409);

  const again = await codeFor('wrongcode', PHONE);
  await sim.enterPairingCode(PHONE, again);
  await eventually(async () => (await status('wrongcode')) === 'open', 30_000, 'open after the right code');
});

test('a code asked for and never typed does not outlive the connection: after a restart the instance registers again', async () => {
  const PHONE = '905551230703';
  sim.addUser(PHONE, 'Yeniden');
  await connecting('restarted');
  await codeFor('restarted', PHONE);
  const qrBefore = (await gw.db('instances').where({ id: 'restarted' }).first()).qr;
  assert.equal((await gw.request('/api/instance/restarted/restart', { method: 'POST' })).status, 200);
  // A new registration shows new QR codes (a login as the never-linked number would be refused and log it out).
  await eventually(
    async () => {
      const row = await gw.db('instances').where({ id: 'restarted' }).first();
      return row.qr && row.qr !== qrBefore;
    },
    30_000,
    'a new QR',
  );
  assert.equal(await status('restarted'), 'connecting');
  await sim.enterPairingCode(PHONE, await codeFor('restarted', PHONE));
  await eventually(async () => (await status('restarted')) === 'open', 30_000, 'open after a code asked for anew');
});

test('an instance that is open, or not connecting, gets 409 and no code', async () => {
  const open = await askCode('bycode', OWNER);
  assert.equal(open.status, 409);
  assert.equal((await json(open)).code, 'ALREADY_PAIRED');

  await gw.request('/api/instance', { method: 'POST', json: { id: 'idle' } });
  const idle = await askCode('idle', OWNER);
  assert.equal(idle.status, 409);
  const body = await json(idle);
  assert.equal(body.code, 'NOT_CONNECTING');
  assert.match(body.error, /connect/);
});

test('a phone number that is not one gets 400', async () => {
  await gw.request('/api/instance', { method: 'POST', json: { id: 'badphone' } });
  for (const phone of ['abc', '0555123', '12', '9055512307019999999', undefined, 905551230701]) {
    const res = await askCode('badphone', phone);
    assert.equal(res.status, 400, `phone ${phone}`);
    assert.match((await json(res)).error, /phone/);
  }
});
