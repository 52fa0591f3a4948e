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

async function pairedClient(phone: string): Promise<BareClient> {
  sim.addUser(phone);
  const client = new BareClient(sim.url);
  client.connect();
  const qr = await waitFor<string>(client, 'qr');
  const opened = waitFor(client, 'open', 20_000);
  await sim.scanQr(phone, qr);
  await opened;
  return client;
}

test('a text sent by Baileys reaches the simulated phone decrypted, and receipts advance its status', async () => {
  const client = await pairedClient('905550002222');
  sim.addUser('905559990001', 'Ayşe');
  sim.receiptPolicy = 'read';
  // Baileys folds receipts that arrive while an event batch is open into the upsert itself.
  const statuses: number[] = [];
  client.on('updates', (updates: Array<{ update: { status?: number } }>) => {
    for (const u of updates) if (u.update.status !== undefined) statuses.push(u.update.status);
    client.emit('status');
  });
  client.on('messages', (upsert: { messages: Array<{ key: { fromMe?: boolean }; status?: number }> }) => {
    for (const m of upsert.messages) if (m.key.fromMe && m.status !== undefined) statuses.push(m.status);
    client.emit('status');
  });
  const arrived = new Promise((resolve) => sim.onMessage((m) => m.to === '905559990001' && resolve(m)));
  const sent = await client.socket!.sendMessage('905559990001@s.whatsapp.net', { text: 'Merhaba 👋' });
  const message = (await arrived) as {
    id: string;
    message: { conversation?: string; extendedTextMessage?: { text?: string } };
    from: string;
  };
  assert.equal(message.id, sent!.key.id);
  assert.equal(message.from, '905550002222');
  assert.equal(message.message.conversation ?? message.message.extendedTextMessage?.text, 'Merhaba 👋');
  if (!statuses.includes(4)) await waitFor(client, 'status', 10_000, () => statuses.includes(4));
  assert.equal(Math.max(...statuses), 4, `statuses ${statuses}`); // READ
  sim.receiptPolicy = 'delivered';
  await client.stop();
});

test('texts from a simulated contact arrive at Baileys (pkmsg first, then msg) with the push name', async () => {
  const client = await pairedClient('905550003333');
  const contact = sim.addUser('905559990002', 'Mehmet');
  const got: Array<{ key: { id?: string; remoteJid?: string; fromMe?: boolean }; pushName?: string; message?: { conversation?: string } }> =
    [];
  // The contact's messages only: the account's own phone may still be sending the new device its history.
  client.on(
    'messages',
    (upsert: { type: string; messages: typeof got }) =>
      upsert.type === 'notify' && got.push(...upsert.messages.filter((m) => !m.key.fromMe)),
  );
  const { sendFromPhone } = await import('../simulator/messages.js');
  const first = await sendFromPhone(sim, contact, sim.user('905550003333'), { conversation: 'selam' });
  const second = await sendFromPhone(sim, contact, sim.user('905550003333'), { conversation: 'nasılsın?' });
  await waitFor(client, 'messages', 10_000, () => got.length >= 2);
  assert.deepEqual(
    got.map((m) => m.key.id),
    [first, second],
  );
  assert.deepEqual(
    got.map((m) => m.message?.conversation),
    ['selam', 'nasılsın?'],
  );
  assert.equal(got[0]!.pushName, 'Mehmet');
  await client.stop();
});
