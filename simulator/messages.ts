/**
 * Messages between the gateway's devices and simulated phones: decrypting
 * what a device sends (and acknowledging it with receipts), and encrypting
 * what a phone sends to a device.
 */
import { randomBytes } from 'node:crypto';
import { proto, unpadRandomMax16, encodeWAMessage, type BinaryNode } from '@whiskeysockets/baileys';
import { bytes, child, children, unixNow } from './nodes.js';
import { pnJid, type Companion, type SimUser } from './directory.js';
import type { SimConnection } from './connection.js';
import type { Simulator } from './simulator.js';
import { preKeyBundle } from './lookups.js';
import { receiveMedia, type ReceivedMedia } from './mediaMessages.js';

export type ReceiptPolicy = 'none' | 'delivered' | 'read';

/** What a simulated phone got from a linked device. */
export interface ReceivedMessage {
  id: string;
  /** The recipient: a phone number, or for a copy to the sender's own phone, its own number. */
  to: string;
  from: string;
  fromDevice: number;
  /** The stanza's type: text, media, poll, reaction... */
  stanzaType: string;
  /** The decoded message (for a copy to the sender's own phone: the inner message). */
  message: proto.IMessage;
  /** True for the copy a device sends to its own account's phone. */
  ownCopy: boolean;
  /** For a group message: the group (`120363…@g.us`); `to` is then the member whose phone got it. */
  group?: string;
  receivedAt: number;
  /** For a media message: the file, downloaded from the media host and decrypted. */
  media?: ReceivedMedia;
  /** Why the media could not be downloaded or decrypted. */
  mediaError?: string;
  /** Its texts after each edit its sender made, in order (changes.ts). */
  edits?: string[];
  /** Deleted for everyone. */
  revoked?: boolean;
}

export async function handleOutgoingMessage(sim: Simulator, conn: SimConnection, node: BinaryNode): Promise<void> {
  const sender = conn.companion;
  const id = node.attrs.id!;
  const to = node.attrs.to!;
  if (!sender) return;
  if (sim.faults.ackError) {
    await conn.send({ tag: 'ack', attrs: { class: 'message', id, from: to, t: unixNow(), error: String(sim.faults.ackError) } });
    return;
  }
  const recipient = sim.directory.find(to.split(/[@:]/)[0]!);
  const copies = children(child(node, 'participants')).filter((c) => c.tag === 'to');
  const direct = child(node, 'enc') ? [{ tag: 'to', attrs: { jid: to }, content: [child(node, 'enc')!] } as BinaryNode] : [];
  for (const copy of [...copies, ...direct]) {
    const jid = copy.attrs.jid!;
    const [userPart, devicePart] = jid.split('@')[0]!.split(':');
    const device = Number(devicePart ?? 0);
    const target = sim.directory.find(userPart!);
    const enc = child(copy, 'enc');
    if (!target || !enc) continue;
    if (device !== 0) {
      // A copy for another linked device of that account: pass it on as it is.
      const companion = target.companions.get(device);
      if (companion && companion !== sender && !companion.removed) await forwardToCompanion(sim, sender, companion, node, enc);
      continue;
    }
    const plaintext = await sim.phone(target).decrypt({ name: sender.user.lid, device: sender.deviceId }, enc.attrs.type!, bytes(enc)!);
    const decoded = proto.Message.decode(unpadRandomMax16(plaintext));
    const ownCopy = target === sender.user;
    const message = ownCopy ? (decoded.deviceSentMessage?.message ?? decoded) : decoded;
    // Like a phone, fetch and decrypt the attachment before showing the message.
    const media = await receiveMedia(sim, message).then(
      (media) => (media ? { media } : {}),
      (err: Error) => ({ mediaError: err.message }),
    );
    sim.record({
      id,
      to: ownCopy ? (recipient?.phone ?? to) : target.phone,
      from: sender.user.phone,
      fromDevice: sender.deviceId,
      stanzaType: node.attrs.type ?? 'text',
      message,
      ownCopy,
      receivedAt: Date.now(),
      ...media,
    });
  }
  await conn.send({ tag: 'ack', attrs: { class: 'message', id, from: to, t: unixNow() } });
  if (recipient && recipient !== sender.user && sim.receiptPolicy !== 'none') {
    await sendReceipt(sim, sender, to, [id], 'delivered');
    if (sim.receiptPolicy === 'read') await sendReceipt(sim, sender, to, [id], 'read');
  }
}

/** A receipt from the recipient `from` (as the device addressed it) about messages `ids`. */
export async function sendReceipt(
  sim: Simulator,
  device: Companion,
  from: string,
  ids: string[],
  type: 'delivered' | 'read' | 'played',
): Promise<void> {
  const [first, ...rest] = ids;
  await sim.deliver(device, {
    tag: 'receipt',
    attrs: { from, id: first!, t: unixNow(), ...(type === 'delivered' ? {} : { type }) },
    ...(rest.length ? { content: [{ tag: 'list', attrs: {}, content: rest.map((id) => ({ tag: 'item', attrs: { id } })) }] } : {}),
  });
}

async function forwardToCompanion(
  sim: Simulator,
  sender: Companion,
  companion: Companion,
  node: BinaryNode,
  enc: BinaryNode,
): Promise<void> {
  await sim.deliver(companion, {
    tag: 'message',
    attrs: { from: pnJid(sender.user.phone), id: node.attrs.id!, t: unixNow(), type: node.attrs.type ?? 'text', notify: sender.user.name },
    content: [enc],
  });
}

/**
 * A simulated phone sends `message` to every device linked to `to`'s account.
 * Returns the message id.
 */
export async function sendFromPhone(
  sim: Simulator,
  from: SimUser,
  to: SimUser,
  message: proto.IMessage,
  options: {
    id?: string;
    onlyDevice?: number;
    stanzaType?: string;
    category?: string;
    /** 'lid': address the sender by LID with its phone number in `sender_pn`, as WhatsApp increasingly does. */
    addressing?: 'pn' | 'lid';
    /** With 'lid': leave `sender_pn` out (the device must know the mapping from elsewhere). */
    hidePhoneNumber?: boolean;
    /** Further stanza attributes (`t`: when it was sent, unix seconds; now by default). */
    attrs?: Record<string, string>;
  } = {},
): Promise<string> {
  const id = options.id ?? `3EB0${randomBytes(8).toString('hex').toUpperCase()}`;
  const phone = sim.phone(from);
  const plaintext = encodeWAMessage(message);
  for (const companion of to.companions.values()) {
    if (companion.removed || (options.onlyDevice !== undefined && companion.deviceId !== options.onlyDevice)) continue;
    const address = { name: to.lid, device: companion.deviceId };
    if (!phone.hasSession(address)) {
      const bundle = preKeyBundle(sim, to, companion.deviceId);
      if (!bundle) continue;
      await phone.startSession(address, {
        ...bundle,
        identityKey: prefixed(bundle.identityKey),
        signedPreKey: { ...bundle.signedPreKey, publicKey: prefixed(bundle.signedPreKey.publicKey) },
        preKey: bundle.preKey && { ...bundle.preKey, publicKey: prefixed(bundle.preKey.publicKey) },
      });
    }
    const { type, ciphertext } = await phone.encrypt(address, plaintext);
    await sim.deliver(companion, {
      tag: 'message',
      attrs: {
        ...(options.addressing === 'lid'
          ? { from: `${from.lid}@lid`, ...(options.hidePhoneNumber ? {} : { sender_pn: pnJid(from.phone) }), addressing_mode: 'lid' }
          : { from: pnJid(from.phone), sender_lid: `${from.lid}@lid` }),
        id,
        t: unixNow(),
        type: options.stanzaType ?? stanzaType(message),
        notify: from.name,
        ...(options.category ? { category: options.category } : {}),
        ...options.attrs,
      },
      content: [{ tag: 'enc', attrs: { v: '2', type }, content: ciphertext }],
    });
  }
  return id;
}

/**
 * The account's own phone writes to `to` (a person answering a customer by
 * hand): WhatsApp gives the account's linked devices a copy, addressed from
 * the account with the chat in `recipient`. Returns the message id.
 */
export function sendFromOwnPhone(
  sim: Simulator,
  owner: SimUser,
  to: SimUser,
  message: proto.IMessage,
  options: { id?: string; attrs?: Record<string, string> } = {},
): Promise<string> {
  return sendFromPhone(
    sim,
    owner,
    owner,
    { deviceSentMessage: { destinationJid: pnJid(to.phone), message } },
    { id: options.id, stanzaType: stanzaType(message), attrs: { ...options.attrs, recipient: pnJid(to.phone) } },
  );
}

function stanzaType(message: proto.IMessage): string {
  if (message.reactionMessage) return 'reaction';
  if (message.pollCreationMessage || message.pollCreationMessageV3 || message.pollUpdateMessage) return 'poll';
  if (message.conversation || message.extendedTextMessage || message.protocolMessage || message.editedMessage) return 'text';
  return 'media';
}

const prefixed = (key: Buffer) => (key.length === 32 ? Buffer.concat([Buffer.from([5]), key]) : key);
