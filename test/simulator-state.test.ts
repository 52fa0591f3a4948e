// The simulator started again from its state file: a device linked before (a bare Baileys socket) logs in
// again with the credentials it kept, no QR, and the phones still read what it sends and it what they send;
// groups and channels are still there.
// Without the file, or with one that cannot be read, the device is refused as logged out, and the simulator
// says why.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Simulator } from '../simulator/simulator.js';
import { sendFromPhone } from '../simulator/messages.js';
import { publish } from '../simulator/channels.js';
import type { GroupRefusal } from '../simulator/groupAdmin.js';
import { freePort } from '../stack/ports.js';
import { BareClient, waitFor } from './support/bareBaileys.js';

const dir = mkdtempSync(join(tmpdir(), 'wa-sim-state-'));
const stateFile = join(dir, 'simulator-state.json');
const SHOP = '905550007001';
const CONTACT = '905550007002';
let port: number;
let sim: Simulator | undefined;
let client: BareClient;
let linkedDevice: number;

before(async () => {
  port = await freePort();
});
after(async () => {
  await client?.stop();
  await sim?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const start = async () => (sim = await Simulator.start({ port, stateFile }));
const stopBoth = async () => {
  const closed = client.open ? waitFor(client, 'close') : undefined;
  await client.stop();
  await closed;
  await sim!.stop();
  sim = undefined;
};
type Upsert = { type: string; messages: Array<{ key: { fromMe?: boolean; id?: string }; message?: { conversation?: string } }> };
/** A text from the contact's phone, as the linked device reads it. */
async function contactWrites(text: string): Promise<string | undefined> {
  const got = waitFor<Upsert>(client, 'messages', 15_000, (u) => u.messages.some((m) => !m.key.fromMe && m.message?.conversation === text));
  await sendFromPhone(sim!, sim!.user(CONTACT), sim!.user(SHOP), { conversation: text });
  return (await got).messages.find((m) => m.message?.conversation === text)?.message?.conversation;
}
/** A text from the linked device, as the contact's phone reads it. */
async function deviceSends(text: string): Promise<string | undefined> {
  const arrived = new Promise<{ message: { conversation?: string; extendedTextMessage?: { text?: string } } }>((resolve) =>
    sim!.onMessage((m) => m.to === CONTACT && !m.ownCopy && resolve(m as never)),
  );
  await client.socket!.sendMessage(`${CONTACT}@s.whatsapp.net`, { text });
  const { message } = await arrived;
  return message.conversation ?? message.extendedTextMessage?.text;
}

test('a device linked before logs in again after a restart, with no QR, messages still go both ways, and its groups and channels are kept', async () => {
  await start();
  assert.deepEqual(sim!.stateLoad, { found: 'missing' });
  sim!.addUser(SHOP, 'Shop');
  sim!.addUser(CONTACT, 'Ayşe');
  await sim!.saveContact(SHOP, CONTACT, 'Ayşe');
  client = new BareClient(sim!.url);
  client.connect();
  const qr = await waitFor<string>(client, 'qr');
  const opened = waitFor(client, 'open', 20_000);
  linkedDevice = (await sim!.scanQr(SHOP, qr)).deviceId;
  await opened;
  assert.equal(await deviceSends('before the restart'), 'before the restart');
  assert.equal(await contactWrites('merhaba'), 'merhaba');
  const lid = sim!.user(SHOP).lid;
  // A group with an admin, a setting and a revoked invite; a channel with a follower and a post.
  const group = sim!.createGroup({ subject: 'Toptan siparişler', owner: SHOP, participants: [CONTACT], admins: [CONTACT] });
  const revoked = sim!.groupAdmin.inviteCode(group, sim!.user(SHOP));
  const invite = sim!.groupAdmin.revokeInvite(group, sim!.user(SHOP));
  await sim!.groupAdmin.setSetting(group, sim!.user(SHOP), 'announcement');
  const channel = sim!.channelRegistry.create(sim!.user(CONTACT), 'Kampanyalar', 'Haftanın fırsatları');
  channel.followers.add(sim!.user(SHOP));
  await publish(sim!, channel, { conversation: 'Bu hafta %20 indirim' });
  await stopBoth();

  await start();
  assert.deepEqual(sim!.stateLoad, { found: 'loaded' });
  assert.equal(sim!.user(SHOP).lid, lid);
  assert.equal(sim!.user(SHOP).addressBook.get(CONTACT), 'Ayşe');
  client.qr = undefined;
  client.connect();
  await waitFor(client, 'open', 20_000);
  assert.equal(client.qr, undefined, 'no QR was shown');
  assert.deepEqual([...sim!.user(SHOP).companions.keys()], [linkedDevice]);
  assert.deepEqual(sim!.refusedLogins, []);
  // The phones kept their Signal sessions with the device, and the device its own with them.
  assert.equal(await deviceSends('after the restart'), 'after the restart');
  assert.equal(await contactWrites('tekrar merhaba'), 'tekrar merhaba');
  // The group is still there, as the device asks WhatsApp about it, and its revoked invite is still refused.
  const metadata = await client.socket!.groupMetadata(group.id);
  assert.equal(metadata.subject, 'Toptan siparişler');
  assert.equal(metadata.announce, true);
  assert.deepEqual(
    metadata.participants.map((p) => [p.id, p.admin]),
    [
      [`${SHOP}@s.whatsapp.net`, 'superadmin'],
      [`${CONTACT}@s.whatsapp.net`, 'admin'],
    ],
  );
  assert.equal(sim!.groupAdmin.inviteCode(sim!.group(group.id), sim!.user(SHOP)), invite);
  await assert.rejects(sim!.groupAdmin.join(sim!.user(CONTACT), revoked), (err: GroupRefusal) => err.code === 406);
  // So is the channel, with its follower and its post.
  const kept = sim!.channelRegistry.channels.get(channel.id)!;
  assert.deepEqual(
    [kept.name, kept.description, kept.invite, kept.owner.phone, [...kept.followers].map((u) => u.phone)],
    ['Kampanyalar', 'Haftanın fırsatları', channel.invite, CONTACT, [SHOP]],
  );
  assert.deepEqual(
    kept.posts.map((p) => [p.serverId, p.message.conversation]),
    channel.posts.map((p) => [p.serverId, 'Bu hafta %20 indirim']),
  );
  await stopBoth();
});

test('without its state file, or with one it cannot read, the simulator refuses the device as logged out and says why', async () => {
  renameSync(stateFile, `${stateFile}.kept`);
  await start();
  assert.deepEqual(sim!.stateLoad, { found: 'missing' });
  client.connect();
  assert.equal(await waitFor<number>(client, 'close', 20_000), 401);
  assert.deepEqual(sim!.refusedLogins, [{ phone: SHOP, device: linkedDevice, reason: 'unknown account' }]);
  await stopBoth();

  writeFileSync(stateFile, '{"version":1,"users":[');
  await start();
  assert.equal(sim!.stateLoad?.found, 'unreadable');
  assert.match((sim!.stateLoad as { error: string }).error, /JSON/);
  await sim!.stop();
  sim = undefined;
});
