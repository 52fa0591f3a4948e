/**
 * The simulator's HTTP control API, driven only over HTTP as a demo script
 * would, with a real Baileys client as the linked device. The tests run in
 * order and share one account and its client: pairing is the first step.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { Simulator } from '../simulator/simulator.js';
import { mountControlApi } from '../simulator/control.js';
import { BareClient, waitFor } from './support/bareBaileys.js';

const ACCOUNT = '905553330001';
const CONTACT = '905553330002';

let sim: Simulator;
let base: string;
let client: BareClient;
before(async () => {
  sim = await Simulator.start({ trace: process.env.SIM_TRACE ? (line) => process.stderr.write(`${line}\n`) : undefined });
  mountControlApi(sim);
  base = `http://127.0.0.1:${sim.port}/control`;
});
after(async () => {
  await client?.stop();
  await sim?.stop();
});

async function call<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as T };
}

/** Polls `probe` until it returns a value (the control API has no push). */
async function eventually<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

interface Received {
  id: string;
  to: string;
  from: string;
  ownCopy: boolean;
  kind: string | null;
  text: string | null;
  receivedAt: number;
}
const receivedBy = (phone: string, id: string, since = 0) =>
  eventually(async () => {
    const { body } = await call<Received[]>('GET', `/received?to=${phone}&since=${since}`);
    return body.find((m) => m.id === id && !m.ownCopy);
  }, `message ${id} at ${phone}`);

interface Outcome {
  status: number;
  messageStubParameters?: string[] | null;
}
/**
 * What Baileys reports about our own message `id`: status updates, or the
 * status in the upsert itself, into which it folds acks and receipts that
 * arrive while the send's event batch is still open.
 */
function outcomesOf(id: string): Outcome[] {
  const outcomes: Outcome[] = [];
  const add = (key: { id?: string | null }, outcome: Partial<Outcome>) => {
    if (key.id !== id || outcome.status === undefined || outcome.status === null) return;
    outcomes.push({ status: Number(outcome.status), messageStubParameters: outcome.messageStubParameters });
    client.emit('outcome');
  };
  client.on('updates', (updates: Array<{ key: { id?: string }; update: Partial<Outcome> }>) => {
    for (const u of updates) add(u.key, u.update);
  });
  client.on('messages', (upsert: { messages: Array<{ key: { id?: string; fromMe?: boolean } } & Partial<Outcome>> }) => {
    for (const m of upsert.messages) if (m.key.fromMe) add(m.key, m);
  });
  return outcomes;
}
// Chosen before sending, so that listeners are in place before Baileys reports anything.
const newMessageId = () => `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
const until = (outcomes: Outcome[], done: () => boolean) => (done() ? undefined : waitFor(client, 'outcome', 10_000, done));

test('users are added and listed with their LIDs', async () => {
  const account = await call('POST', '/users', { phone: ACCOUNT, name: 'Gateway Owner' });
  assert.equal(account.status, 201);
  assert.equal(account.body.phone, ACCOUNT);
  assert.match(account.body.lid, /^\d+$/);
  const contact = await call('POST', '/users', { phone: CONTACT, name: 'Zeynep' });
  assert.equal(contact.status, 201);
  const again = await call('POST', '/users', { phone: CONTACT });
  assert.deepEqual([again.status, again.body], [200, contact.body]);

  const { body: users } = await call('GET', '/users');
  assert.deepEqual(
    users.map((u: { phone: string; name: string; devices: unknown[] }) => [u.phone, u.name, u.devices]),
    [
      [ACCOUNT, 'Gateway Owner', []],
      [CONTACT, 'Zeynep', []],
    ],
  );
});

test('posting the QR a Baileys client shows to /scan links it, and it logs in', async () => {
  client = new BareClient(sim.url);
  client.connect();
  const qr = await waitFor<string>(client, 'qr');
  const opened = waitFor(client, 'open', 20_000);
  const scan = await call('POST', '/scan', { phone: ACCOUNT, qr });
  assert.equal(scan.status, 200);
  assert.equal(scan.body.success, true);
  assert.equal(scan.body.jid, `${ACCOUNT}:${scan.body.deviceId}@s.whatsapp.net`);
  await opened;
  assert.equal(client.creds.me?.id, scan.body.jid);

  const { body: users } = await call('GET', '/users');
  const account = users.find((u: { phone: string }) => u.phone === ACCOUNT);
  assert.deepEqual(account.devices, [{ deviceId: scan.body.deviceId, online: true }]);
  const { body: summary } = await call('GET', '');
  assert.equal(summary.wsUrl, sim.url);
  assert.equal(summary.users, 2);
});

test('a text sent by Baileys shows up in /received for the contact, and since= filters by time', async () => {
  const before = Date.now() - 1;
  const sent = await client.socket!.sendMessage(`${CONTACT}@s.whatsapp.net`, { text: 'Merhaba 👋' });
  const message = await receivedBy(CONTACT, sent!.key.id!, before);
  assert.equal(message.from, ACCOUNT);
  assert.equal(message.ownCopy, false);
  assert.equal(message.text, 'Merhaba 👋');
  assert.match(message.kind!, /^(conversation|extendedTextMessage)$/);
  const { body: later } = await call<Received[]>('GET', `/received?to=${CONTACT}&since=${message.receivedAt}`);
  assert.equal(
    later.find((m) => m.id === message.id && !m.ownCopy),
    undefined,
  );
});

test('a text from a simulated contact posted to /messages reaches the client with the push name', async () => {
  const got = waitFor<{
    type: string;
    messages: Array<{ key: { id?: string; remoteJid?: string }; pushName?: string; message?: { conversation?: string } }>;
  }>(client, 'messages', 10_000, (upsert) => upsert.type === 'notify' && upsert.messages.some((m) => m.message?.conversation === 'selam'));
  const { status, body } = await call('POST', '/messages', { from: CONTACT, to: ACCOUNT, body: 'selam' });
  assert.equal(status, 200);
  const message = (await got).messages.find((m) => m.message?.conversation === 'selam')!;
  assert.equal(message.key.id, body.id);
  assert.equal(message.key.remoteJid, `${CONTACT}@s.whatsapp.net`);
  assert.equal(message.pushName, 'Zeynep');
});

test('a read receipt posted to /receipts turns the sent message READ at the client', async () => {
  // With automatic receipts off, only the posted receipt can advance the status past the server ack.
  assert.deepEqual((await call('PUT', '/receipt-policy', { policy: 'none' })).body, { receiptPolicy: 'none' });
  const id = newMessageId();
  const outcomes = outcomesOf(id);
  await client.socket!.sendMessage(`${CONTACT}@s.whatsapp.net`, { text: 'okundu mu?' }, { messageId: id });
  await receivedBy(CONTACT, id);
  const receipt = await call('POST', '/receipts', { from: CONTACT, to: ACCOUNT, ids: [id], type: 'read' });
  assert.deepEqual([receipt.status, receipt.body.deviceIds.length], [200, 1]);
  await until(outcomes, () => outcomes.some((o) => o.status === 4));
  assert.equal(Math.max(...outcomes.map((o) => o.status)), 4, JSON.stringify(outcomes)); // READ
  await call('PUT', '/receipt-policy', { policy: 'delivered' });
});

test('a group created through /groups is visible to the client, and a member posts to it', async () => {
  const { status, body: group } = await call('POST', '/groups', {
    subject: 'Aile',
    owner: CONTACT,
    participants: [ACCOUNT, '905553330003'],
    admins: [ACCOUNT],
    description: 'Aile grubu',
  });
  assert.equal(status, 201);
  assert.match(group.id, /^120363\d+@g\.us$/);
  const metadata = await client.socket!.groupMetadata(group.id);
  assert.equal(metadata.subject, 'Aile');
  assert.equal(metadata.desc, 'Aile grubu');
  assert.deepEqual(
    metadata.participants.map((p) => [p.id, p.admin]),
    [
      [`${CONTACT}@s.whatsapp.net`, 'superadmin'],
      [`${ACCOUNT}@s.whatsapp.net`, 'admin'],
      ['905553330003@s.whatsapp.net', null],
    ],
  );

  const got = waitFor<{ messages: Array<{ key: { id?: string; remoteJid?: string }; message?: { conversation?: string } }> }>(
    client,
    'messages',
    10_000,
    (upsert) => upsert.messages.some((m) => m.key.remoteJid === group.id && m.message?.conversation),
  );
  const sent = await call('POST', '/messages', { from: CONTACT, group: group.id, body: 'herkese selam' });
  assert.equal(sent.status, 200);
  const message = (await got).messages.find((m) => m.key.remoteJid === group.id)!;
  assert.equal(message.key.id, sent.body.id);
  assert.equal(message.message?.conversation, 'herkese selam');
  assert.equal((await call('POST', '/messages', { from: '905553330003', group: '120363000000000000@g.us', body: 'x' })).status, 404);
});

test("statuses, labels and channels through the control API: a contact's status reaches the client, the phone's label and a channel are shown", async () => {
  type Upsert = { type: string; messages: Array<{ key: { id?: string; remoteJid?: string; participant?: string }; message?: any }> };
  const status = waitFor<Upsert>(client, 'messages', 10_000, (u) => u.messages.some((m) => m.key.remoteJid === 'status@broadcast'));
  const posted = await call('POST', '/status', { from: CONTACT, to: [ACCOUNT], body: 'Tatildeyim' });
  assert.equal(posted.status, 200, JSON.stringify(posted.body));
  const got = (await status).messages.find((m) => m.key.remoteJid === 'status@broadcast')!;
  assert.equal(got.key.id, posted.body.id);
  assert.equal(got.message?.extendedTextMessage?.text, 'Tatildeyim');

  const labels = await call('POST', '/labels', { phone: ACCOUNT, id: '3', name: 'VIP', color: 4 });
  assert.equal(labels.status, 200, JSON.stringify(labels.body));
  await call('POST', '/labels/chat', { phone: ACCOUNT, chat: CONTACT, labelId: '3', labeled: true });
  assert.deepEqual((await call('GET', `/labels?phone=${ACCOUNT}`)).body, {
    labels: [{ id: '3', name: 'VIP', color: 4 }],
    chats: { '3': [`${CONTACT}@s.whatsapp.net`] },
  });

  const channel = await call('POST', '/channels', { owner: CONTACT, name: 'Duyurular' });
  assert.equal(channel.status, 201);
  assert.match(channel.body.link, /^https:\/\/whatsapp\.com\/channel\//);
  await call('POST', '/channels/follow', { channel: channel.body.id, phone: ACCOUNT });
  const post = waitFor<Upsert>(client, 'messages', 10_000, (u) => u.messages.some((m) => m.key.remoteJid === channel.body.id));
  const published = await call('POST', '/channels/post', { channel: channel.body.id, body: 'İlk duyuru' });
  assert.deepEqual(Object.keys(published.body).sort(), ['id', 'serverId']);
  assert.equal((await post).messages[0]!.message?.conversation, 'İlk duyuru');
  const shown = (await call('GET', `/channels?id=${channel.body.id}`)).body;
  assert.deepEqual(shown.followers, [ACCOUNT]);
  assert.deepEqual(
    shown.posts.map((p: { text: string }) => p.text),
    ['İlk duyuru'],
  );
  assert.equal((await call('GET', '/channels?id=nope')).status, 404);
});

test('ackError from /faults makes the server refuse the next send, and the client marks it failed', async () => {
  const faults = await call('POST', '/faults', { ackError: 479 });
  assert.deepEqual(faults.body, { refuse: false, delayMs: 0, failLogins: 0, ackError: 479 });
  const id = newMessageId();
  const outcomes = outcomesOf(id);
  await client.socket!.sendMessage(`${CONTACT}@s.whatsapp.net`, { text: 'gitmeyecek' }, { messageId: id });
  await until(outcomes, () => outcomes.some((o) => o.status === 0));
  assert.deepEqual(outcomes.find((o) => o.status === 0)?.messageStubParameters, ['479']); // ERROR, with the server's code
  const { body: received } = await call<Received[]>('GET', `/received?to=${CONTACT}`);
  assert.equal(
    received.find((m) => m.id === id),
    undefined,
  );
  assert.equal((await call('POST', '/faults', { ackError: 0 })).body.ackError, 0);
});

test('/restart makes the client reconnect; /logout removes the device and the client sees 401', async () => {
  const closed = waitFor<number>(client, 'close');
  const reopened = waitFor(client, 'open', 20_000);
  assert.deepEqual((await call('POST', '/restart', { phone: ACCOUNT })).body, { restarted: 1 });
  assert.equal(await closed, 515);
  await reopened;

  const loggedOut = waitFor<number>(client, 'close');
  const { status, body } = await call('POST', '/logout', { phone: ACCOUNT });
  assert.equal(status, 200);
  assert.equal(body.removed.length, 1);
  assert.equal(await loggedOut, 401);
  const { body: users } = await call('GET', '/users');
  assert.deepEqual(users.find((u: { phone: string }) => u.phone === ACCOUNT).devices, []);
  // Nothing linked any more: a text to the account would be lost, so it is refused.
  const refused = await call('POST', '/messages', { from: CONTACT, to: ACCOUNT, body: 'hello?' });
  assert.equal(refused.status, 409);
  assert.match(refused.body.error, /no linked device/);
});

test('bad requests get a JSON error with 400 or 404 and the simulator keeps serving', async () => {
  const badJson = await call('POST', '/users', '{"phone": ');
  assert.deepEqual([badJson.status, badJson.body], [400, { error: 'request body is not valid JSON' }]);
  const badPhone = await call('POST', '/users', { phone: '+90 555' });
  assert.equal(badPhone.status, 400);
  assert.match(badPhone.body.error, /^phone: /);
  const unknown = await call('POST', '/messages', { from: '905559999999', to: ACCOUNT, body: 'hi' });
  assert.deepEqual([unknown.status, unknown.body], [404, { error: 'no simulated user 905559999999' }]);
  const badQr = await call('POST', '/scan', { phone: ACCOUNT, qr: 'not-a-qr' });
  assert.equal(badQr.status, 400);
  assert.match(badQr.body.error, /^invalid QR/);
  const badImage = await call('POST', '/scan', { phone: ACCOUNT, qr: 'data:image/png;base64,AAAA' });
  assert.equal(badImage.status, 400);
  const badFault = await call('POST', '/faults', { ackError: 'yes' });
  assert.equal(badFault.status, 400);
  assert.equal((await call('GET', '/nowhere')).status, 404);
  assert.equal((await call('GET', '')).status, 200);
});
