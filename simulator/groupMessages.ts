/**
 * Group messages with sender keys, as WhatsApp does them: the sender encrypts
 * a message once with its sender key (`<enc type="skmsg">`) and hands that key
 * to each member device once, in a SenderKeyDistributionMessage inside a
 * pairwise Signal message (`pkmsg`/`msg`). The simulator plays every member's
 * phone: it takes in a linked device's group sends (and passes them on to the
 * members' other linked devices), and sends group messages from a phone.
 * Baileys' own sender-key code (lib/Signal/Group) does the cryptography.
 */
import { randomBytes } from 'node:crypto';
import { proto, encodeWAMessage, unpadRandomMax16, type BinaryNode } from '@whiskeysockets/baileys';
import {
  GroupCipher,
  GroupSessionBuilder,
  SenderKeyDistributionMessage,
  SenderKeyName,
  SenderKeyRecord,
} from '@whiskeysockets/baileys/lib/Signal/Group/index.js';
import { bytes, child, children, unixNow } from './nodes.js';
import type { Companion, SimUser } from './directory.js';
import { memberJids, type SimGroup } from './groups.js';
import type { SignalDevice } from './signal.js';
import type { SimConnection } from './connection.js';
import type { Simulator } from './simulator.js';
import { preKeyBundle } from './lookups.js';
import { receiveMedia } from './mediaMessages.js';

/** A phone's sender keys: its own (one per group) and those other members' devices distributed to it. */
class SenderKeys {
  private readonly records = new Map<string, SenderKeyRecord>();
  /** `group|phone:device` of the linked devices that already hold this phone's sender key. */
  readonly distributed = new Set<string>();
  loadSenderKey = async (name: SenderKeyName) => this.records.get(name.toString()) ?? new SenderKeyRecord();
  storeSenderKey = async (name: SenderKeyName, record: SenderKeyRecord) => void this.records.set(name.toString(), record);
}

// Kept beside each phone's Signal device (signal.ts knows nothing of groups).
const senderKeyStores = new WeakMap<SignalDevice, SenderKeys>();
function senderKeys(phone: SignalDevice): SenderKeys {
  let keys = senderKeyStores.get(phone);
  if (!keys) senderKeyStores.set(phone, (keys = new SenderKeys()));
  return keys;
}

/** The name a sender key is filed under: the group and the sending device (by LID). */
const senderKeyName = (gid: string, sender: SimUser, device: number) =>
  new SenderKeyName(gid, { id: sender.lid, deviceId: device, toString: () => `${sender.lid}.${device}` });

/**
 * A linked device sends to a group: every member's phone takes the sender key
 * from its pairwise copy and decrypts the skmsg (one ReceivedMessage each);
 * members' other linked devices get the stanza passed on. Then an ack, and
 * receipts per member as the receipt policy says.
 */
export async function handleOutgoingGroupMessage(sim: Simulator, conn: SimConnection, node: BinaryNode): Promise<void> {
  const sender = conn.companion;
  if (!sender) return;
  const id = node.attrs.id!;
  const gid = node.attrs.to!;
  const ack = (error?: number) =>
    conn.send({ tag: 'ack', attrs: { class: 'message', id, from: gid, t: unixNow(), ...(error ? { error: String(error) } : {}) } });
  // A status goes to its audience as a group message does to members: the users the sender key went to.
  const group = gid === STATUS_JID ? statusAudience(sim, sender.user, node) : sim.groupRegistry.get(gid);
  const skmsg = children(node).find((c) => c.tag === 'enc' && c.attrs.type === 'skmsg');
  if (sim.faults.ackError) return ack(sim.faults.ackError);
  if (!group) return ack(404);
  if (!group.participants.includes(sender.user)) return ack(403);
  if (!skmsg) return ack(400);

  // The pairwise copies by `phone:device`; each carries the sender key for that device.
  const copies = new Map<string, BinaryNode>();
  for (const to of children(child(node, 'participants'))) {
    const [userPart, devicePart] = (to.attrs.jid ?? '').split('@')[0]!.split(':');
    const target = sim.directory.find(userPart!);
    const enc = child(to, 'enc');
    if (target && enc) copies.set(`${target.phone}:${Number(devicePart ?? 0)}`, enc);
  }

  const name = senderKeyName(group.id, sender.user, sender.deviceId);
  const reached: SimUser[] = [];
  for (const member of group.participants) {
    for (const companion of member.companions.values()) {
      if (companion === sender || companion.removed) continue;
      const copy = copies.get(`${member.phone}:${companion.deviceId}`);
      await sim.deliver(
        companion,
        groupStanza(group, sender.user, sender.deviceId, id, node.attrs.type ?? 'text', [...(copy ? [copy] : []), skmsg]),
      );
    }
    const phone = sim.phone(member);
    try {
      const copy = copies.get(`${member.phone}:0`);
      if (copy) {
        const plaintext = await phone.decrypt({ name: sender.user.lid, device: sender.deviceId }, copy.attrs.type!, bytes(copy)!);
        const distribution = proto.Message.decode(unpadRandomMax16(plaintext)).senderKeyDistributionMessage;
        if (distribution?.axolotlSenderKeyDistributionMessage) {
          const skdm = new SenderKeyDistributionMessage(null, null, null, null, distribution.axolotlSenderKeyDistributionMessage);
          await new GroupSessionBuilder(senderKeys(phone)).process(name, skdm);
        }
      }
      const plaintext = await new GroupCipher(senderKeys(phone), name).decrypt(bytes(skmsg)!);
      const ownCopy = member === sender.user;
      const message = proto.Message.decode(unpadRandomMax16(Buffer.from(plaintext)));
      // Like a phone, fetch and decrypt the attachment before showing the message.
      const media = ownCopy
        ? {}
        : await receiveMedia(sim, message).then(
            (media) => (media ? { media } : {}),
            (err: Error) => ({ mediaError: err.message }),
          );
      sim.record({
        id,
        to: member.phone,
        from: sender.user.phone,
        fromDevice: sender.deviceId,
        stanzaType: node.attrs.type ?? 'text',
        message,
        ownCopy,
        group: group.id,
        receivedAt: Date.now(),
        ...media,
      });
      if (!ownCopy) reached.push(member);
    } catch {
      // A real phone would ask for a retry; here the message is lost for this member (visible in a trace).
      sim.log(`undecryptable for ${member.phone}`, conn, node);
    }
  }
  await ack();
  await sendGroupReceipts(sim, sender, group, id, reached);
}

/** Where statuses (stories) are sent, and where they come from. */
export const STATUS_JID = 'status@broadcast';

/**
 * The audience of a status, as a group of its own: the poster and the users
 * who get it. Statuses are addressed by LID, as Baileys sends them.
 */
export function statusGroup(poster: SimUser, audience: Iterable<SimUser>): SimGroup {
  return {
    id: STATUS_JID,
    subject: '',
    owner: poster,
    participants: [...new Set([poster, ...audience])],
    admins: new Set(),
    addressingMode: 'lid',
    creation: Number(unixNow()),
  };
}

/** The audience of a status a linked device posts: every user a copy of the sender key was addressed to. */
function statusAudience(sim: Simulator, poster: SimUser, node: BinaryNode): SimGroup {
  const audience = children(child(node, 'participants')).flatMap((to) => sim.directory.find((to.attrs.jid ?? '').split(/[@:]/)[0]!) ?? []);
  return statusGroup(poster, audience);
}

/** Receipts from each member that got message `id`, as the simulator's receipt policy says. */
async function sendGroupReceipts(sim: Simulator, device: Companion, group: SimGroup, id: string, members: SimUser[]): Promise<void> {
  if (sim.receiptPolicy === 'none') return;
  for (const type of sim.receiptPolicy === 'read' ? ['delivered', 'read'] : ['delivered']) {
    for (const member of members) {
      await sim.deliver(device, {
        tag: 'receipt',
        attrs: { from: group.id, participant: memberJids(group, member).jid, id, t: unixNow(), ...(type === 'read' ? { type } : {}) },
      });
    }
  }
}

/**
 * The phone of `from` sends `message` to a group: encrypted once with its
 * sender key, and to each member's linked device (its own included) the sender
 * key first, pairwise, if that device does not have it yet. Returns the id.
 */
export async function sendGroupMessage(
  sim: Simulator,
  from: SimUser,
  group: SimGroup,
  message: proto.IMessage,
  options: { id?: string; stanzaType?: string; attrs?: Record<string, string> } = {},
): Promise<string> {
  if (!group.participants.includes(from)) throw new Error(`${from.phone} is not a member of ${group.id}`);
  const id = options.id ?? `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
  const phone = sim.phone(from);
  const keys = senderKeys(phone);
  const name = senderKeyName(group.id, from, 0);
  // Created on the first message to the group; the distribution message carries its current state.
  const distribution = await new GroupSessionBuilder(keys).create(name);
  const skmsg = await new GroupCipher(keys, name).encrypt(encodeWAMessage(message));
  const skdm = encodeWAMessage({
    senderKeyDistributionMessage: { groupId: group.id, axolotlSenderKeyDistributionMessage: distribution.serialize() },
  });
  for (const member of group.participants) {
    for (const companion of member.companions.values()) {
      if (companion.removed) continue;
      const content: BinaryNode[] = [];
      const holder = `${group.id}|${member.phone}:${companion.deviceId}`;
      if (!keys.distributed.has(holder)) {
        const enc = await encryptPairwise(sim, phone, member, companion.deviceId, skdm);
        if (!enc) continue;
        content.push(enc);
        keys.distributed.add(holder);
      }
      content.push({ tag: 'enc', attrs: { v: '2', type: 'skmsg' }, content: Buffer.from(skmsg) });
      await sim.deliver(companion, groupStanza(group, from, 0, id, options.stanzaType ?? 'text', content, options.attrs));
    }
  }
  return id;
}

/** `<message from=GROUP participant=…>` naming the sender both ways (see AddressingMode). */
function groupStanza(
  group: SimGroup,
  from: SimUser,
  device: number,
  id: string,
  type: string,
  content: BinaryNode[],
  attrs: Record<string, string> = {},
): BinaryNode {
  const { jid, alt } = memberJids(group, from, device);
  const lidMode = group.addressingMode === 'lid';
  return {
    tag: 'message',
    attrs: {
      from: group.id,
      participant: jid,
      ...(lidMode ? { participant_pn: alt, addressing_mode: 'lid' } : { participant_lid: alt }),
      id,
      t: unixNow(),
      type,
      notify: from.name,
      ...attrs,
    },
    content,
  };
}

/** Encrypts to one linked device of `to`, starting a session from its uploaded keys if needed. */
async function encryptPairwise(
  sim: Simulator,
  phone: SignalDevice,
  to: SimUser,
  device: number,
  plaintext: Buffer,
): Promise<BinaryNode | undefined> {
  const address = { name: to.lid, device };
  if (!phone.hasSession(address)) {
    const bundle = preKeyBundle(sim, to, device);
    if (!bundle) return undefined;
    await phone.startSession(address, {
      ...bundle,
      identityKey: prefixed(bundle.identityKey),
      signedPreKey: { ...bundle.signedPreKey, publicKey: prefixed(bundle.signedPreKey.publicKey) },
      preKey: bundle.preKey && { ...bundle.preKey, publicKey: prefixed(bundle.preKey.publicKey) },
    });
  }
  const { type, ciphertext } = await phone.encrypt(address, plaintext);
  return { tag: 'enc', attrs: { v: '2', type }, content: ciphertext };
}

const prefixed = (key: Buffer) => (key.length === 32 ? Buffer.concat([Buffer.from([5]), key]) : key);
