import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Simulator } from '../simulator/simulator.js';
import { BareClient, waitFor } from './support/bareBaileys.js';

let sim: Simulator;
before(async () => {
  sim = await Simulator.start({ trace: process.env.SIM_TRACE ? (line) => process.stderr.write(`${line}\n`) : undefined });
});
after(() => sim?.stop());

test('a bare Baileys socket pairs by QR, restarts and logs in with its new credentials', async () => {
  sim.addUser('905550001111', 'Gateway Owner');
  const client = new BareClient(sim.url);
  client.connect();
  const qr = await waitFor<string>(client, 'qr');
  assert.equal(qr.split(',').length, 5);
  const opened = waitFor(client, 'open', 20_000);
  const companion = await sim.scanQr('905550001111', qr);
  await opened;
  assert.equal(client.creds.me?.id, `905550001111:${companion.deviceId}@s.whatsapp.net`);
  assert.equal(client.creds.me?.lid, `${companion.user.lid}:${companion.deviceId}@lid`);
  await client.stop();
});
