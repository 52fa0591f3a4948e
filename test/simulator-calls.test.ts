// The simulator's calls, seen by a bare (real) Baileys socket: offers, the device declining, hang-ups, the control routes.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { WACallEvent } from '@whiskeysockets/baileys';
import { Simulator } from '../simulator/simulator.js';
import { mountControlApi } from '../simulator/control.js';
import { BareClient, waitFor } from './support/bareBaileys.js';

let sim: Simulator;
let client: BareClient;
const ACCOUNT = '905550008001';
const CALLER = '905550008002';
const calls: WACallEvent[] = [];

before(async () => {
  sim = await Simulator.start({ trace: process.env.SIM_TRACE ? (line) => process.stderr.write(`${line}\n`) : undefined });
  mountControlApi(sim);
  sim.addUser(ACCOUNT, 'Hesap');
  sim.addUser(CALLER, 'Arayan');
  client = new BareClient(sim.url);
  client.connect();
  const qr = await waitFor<string>(client, 'qr');
  const opened = waitFor(client, 'open', 20_000);
  await sim.scanQr(ACCOUNT, qr);
  await opened;
  client.socket!.ev.on('call', (events) => {
    calls.push(...events);
    client.emit('call');
  });
});
after(async () => {
  await client?.stop();
  await sim?.stop();
});

const control = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`http://127.0.0.1:${sim.port}/control${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as any };
};
const eventsOf = (id: string) => calls.filter((c) => c.id === id);
async function until(check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('a call rings the linked device as WhatsApp sends it: an offer from the LID with caller_pn; rejectCall stops it at the caller', async () => {
  const offered = await control('POST', '/call', { from: CALLER, to: ACCOUNT, video: true });
  assert.equal(offered.status, 201);
  const id = offered.body.id as string;
  await until(() => eventsOf(id).length > 0);
  const [offer] = eventsOf(id);
  assert.equal(offer!.status, 'offer');
  assert.equal(offer!.from, `${sim.user(CALLER).lid}@lid`);
  assert.equal(offer!.callerPn, `${CALLER}@s.whatsapp.net`);
  assert.equal(offer!.isVideo, true);

  // Baileys' rejectCall waits for the server's answer: it resolves only if the simulator acknowledges it.
  await client.socket!.rejectCall(id, offer!.from);
  const listed = await control('GET', '/calls');
  const call = listed.body.find((c: { id: string }) => c.id === id);
  assert.equal(call.status, 'rejected');
  assert.equal(call.rejectedBy, [...sim.user(ACCOUNT).companions.keys()][0]);
});

test('hanging up and answering on the phone reach the device as terminate and accept', async () => {
  const first = (await control('POST', '/call', { from: CALLER, to: ACCOUNT })).body.id as string;
  await until(() => eventsOf(first).length > 0);
  assert.equal((await control('POST', '/call/end', { id: first })).body.status, 'ended');
  await until(() => eventsOf(first).some((c) => c.status === 'terminate'));
  assert.equal(eventsOf(first)[0]!.isVideo, false);

  const second = (await control('POST', '/call', { from: CALLER, to: ACCOUNT })).body.id as string;
  await until(() => eventsOf(second).length > 0);
  assert.equal((await control('POST', '/call/answer', { id: second })).body.status, 'answered');
  await until(() => eventsOf(second).some((c) => c.status === 'accept'));
});

test('the call routes refuse unknown phones, accounts without a linked device and unknown calls', async () => {
  sim.addUser('905550008003');
  assert.equal((await control('POST', '/call', { from: '905550008999', to: ACCOUNT })).status, 404);
  assert.equal((await control('POST', '/call', { from: CALLER, to: '905550008003' })).status, 409);
  assert.equal((await control('POST', '/call', { from: CALLER })).status, 400);
  assert.equal((await control('POST', '/call/end', { id: 'NOPE' })).status, 404);
});
