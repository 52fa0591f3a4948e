// The simulator's phone side of pairing by phone-number code, with a bare (real) Baileys socket.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { PairingCodeError } from '../simulator/pairingCode.js';
import { BareClient, waitFor } from './support/bareBaileys.js';

let sim: Simulator;
before(async () => {
  sim = await Simulator.start({ trace: process.env.SIM_TRACE ? (line) => process.stderr.write(`${line}\n`) : undefined });
});
after(() => sim?.stop());

/** A new device asks for a code for `phone` once it shows QR codes (it is registering). */
async function deviceAskingForCode(phone: string): Promise<{ client: BareClient; code: string }> {
  const client = new BareClient(sim.url);
  client.connect();
  await waitFor<string>(client, 'qr');
  const code = await client.socket!.requestPairingCode(phone);
  assert.match(code, /^[0-9A-Z]{8}$/);
  await waitForCondition(() => sim.pairingCodes.isWaiting(phone));
  return { client, code };
}

async function waitForCondition(check: () => boolean, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('the code typed on the phone links the device: pair-success, restart, login as the account', async () => {
  sim.addUser('905550007001', 'Kod Sahibi');
  const { client, code } = await deviceAskingForCode('905550007001');
  const opened = waitFor(client, 'open', 20_000);
  // Typed as shown on screen: ABCD-EFGH, in lower case.
  const companion = await sim.enterPairingCode('905550007001', `${code.slice(0, 4)}-${code.slice(4)}`.toLowerCase());
  await opened;
  assert.equal(client.creds.me?.id, `905550007001:${companion.deviceId}@s.whatsapp.net`);
  assert.equal(companion.advSecret.toString('base64'), client.creds.advSecretKey, 'both sides derived the same ADV secret');
  await client.stop();
});

test('a wrong code fails on the phone and leaves the device unpaired; the right code still links it', async () => {
  sim.addUser('905550007002');
  const { client, code } = await deviceAskingForCode('905550007002');
  const wrong = code.startsWith('A') ? `B${code.slice(1)}` : `A${code.slice(1)}`;
  await assert.rejects(
    sim.enterPairingCode('905550007002', wrong),
    (err: unknown) => err instanceof PairingCodeError && err.kind === 'wrongCode',
  );
  assert.equal(sim.user('905550007002').companions.size, 0);
  assert.equal(client.open, false);
  const opened = waitFor(client, 'open', 20_000);
  await sim.enterPairingCode('905550007002', code);
  await opened;
  await client.stop();
});

test('a code for a number no device asked about is refused', async () => {
  sim.addUser('905550007003');
  await assert.rejects(
    sim.enterPairingCode('905550007003', 'ABCDEFGH'),
    (err: unknown) => err instanceof PairingCodeError && err.kind === 'noDevice',
  );
});

test('POST /control/pair-code types the code on the phone: 400 for a wrong code, 409 when no device waits, then links', async () => {
  const { mountControlApi } = await import('../simulator/control.js');
  const controlled = await Simulator.start();
  mountControlApi(controlled);
  try {
    const control = (body: unknown) =>
      fetch(`http://127.0.0.1:${controlled.port}/control/pair-code`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    controlled.addUser('905550007004', 'Kontrol');
    assert.equal((await control({ phone: '905550007004', code: 'ABCD1234' })).status, 409);
    assert.equal((await control({ phone: '905550007004', code: 'no' })).status, 400);
    const client = new BareClient(controlled.url);
    client.connect();
    await waitFor<string>(client, 'qr');
    const code = await client.socket!.requestPairingCode('905550007004');
    await waitForCondition(() => controlled.pairingCodes.isWaiting('905550007004'));
    const wrong = await control({ phone: '905550007004', code: code === 'ZZZZZZZZ' ? 'YYYYYYYY' : 'ZZZZZZZZ' });
    assert.equal(wrong.status, 400);
    assert.match(((await wrong.json()) as { error: string }).error, /wrong pairing code/);
    const opened = waitFor(client, 'open', 20_000);
    const right = await control({ phone: '905550007004', code });
    assert.equal(right.status, 200);
    const linked = (await right.json()) as { jid: string };
    await opened;
    assert.equal(linked.jid, client.creds.me?.id);
    await client.stop();
  } finally {
    await controlled.stop();
  }
});
