/**
 * Edits and deletions for everyone, as phones make them and see them: a
 * phone edits or deletes a message it sent (or, as a group's admin, a
 * member's), which reaches the linked devices as a protocol message; and a
 * phone that gets one from a linked device changes the message it has, as
 * WhatsApp shows "edited" or "this message was deleted".
 */
import { proto } from '@whiskeysockets/baileys';
import { pnJid, type SimUser } from './directory.js';
import { sendFromOwnPhone, sendFromPhone, type ReceivedMessage } from './messages.js';
import type { Simulator } from './simulator.js';

const { Type } = proto.Message.ProtocolMessage;

/** Where the changed message is: a chat with a phone, or a group. */
export type ChangeTarget = { to: SimUser; group?: undefined } | { group: string; to?: undefined };

export interface PhoneChange {
  /** The phone that edits or deletes. */
  from: SimUser;
  /** The message's id. */
  id: string;
  /** For an admin's delete of a member's message in a group: that member. */
  author?: SimUser;
  /** The account's own phone (a copy to its linked devices, as a message it wrote there). */
  own?: boolean;
}

/** A phone edits the text of a message it sent. Returns the protocol message's id. */
export function editFromPhone(sim: Simulator, change: PhoneChange & ChangeTarget & { body: string }, at = Date.now()): Promise<string> {
  const protocolMessage: proto.Message.IProtocolMessage = {
    key: keyOf(change),
    type: Type.MESSAGE_EDIT,
    editedMessage: { conversation: change.body },
    timestampMs: at,
  };
  // As WhatsApp's apps send an edit now: wrapped, with the stanza saying so.
  return send(sim, change, { editedMessage: { message: { protocolMessage } } }, '1');
}

/** A phone deletes a message for everyone: its own, or as a group's admin a member's. Returns the protocol message's id. */
export function revokeFromPhone(sim: Simulator, change: PhoneChange & ChangeTarget): Promise<string> {
  return send(sim, change, { protocolMessage: { key: keyOf(change), type: Type.REVOKE } }, change.author ? '8' : '7');
}

/** The key of the changed message, as its sender's phone names it. */
function keyOf({ id, author, group, to }: PhoneChange & ChangeTarget): proto.IMessageKey {
  return author
    ? { remoteJid: group ?? pnJid(to!.phone), fromMe: false, id, participant: pnJid(author.phone) }
    : { remoteJid: group ?? pnJid(to!.phone), fromMe: true, id };
}

function send(sim: Simulator, change: PhoneChange & ChangeTarget, message: proto.IMessage, edit: string): Promise<string> {
  const attrs = { edit };
  if (change.group !== undefined) return sim.sendGroupMessage(change.from.phone, change.group, message, { stanzaType: 'text', attrs });
  if (change.own) return sendFromOwnPhone(sim, change.from, change.to, message, { attrs });
  return sendFromPhone(sim, change.from, change.to, message, { stanzaType: 'text', attrs });
}

/**
 * A phone got an edit or a delete of a message it has (from the same sender,
 * in the same chat): the message shows its new text, or that it was deleted.
 * False when the message is not one of these.
 */
export function applyPhoneChange(received: ReceivedMessage[], message: ReceivedMessage): boolean {
  const protocol = message.message.protocolMessage ?? message.message.editedMessage?.message?.protocolMessage;
  if (!protocol?.key?.id || (protocol.type !== Type.MESSAGE_EDIT && protocol.type !== Type.REVOKE)) return false;
  const target = received.find(
    (m) => m.id === protocol.key!.id && m.to === message.to && (m.group ?? '') === (message.group ?? '') && m.ownCopy === message.ownCopy,
  );
  if (!target) return true;
  // Only its sender edits a message; its sender (or a group's admin, which WhatsApp checked) deletes it.
  if (protocol.type === Type.REVOKE) target.revoked = true;
  else if (target.from === message.from) {
    const edited = protocol.editedMessage;
    const text =
      edited?.conversation ??
      edited?.extendedTextMessage?.text ??
      edited?.imageMessage?.caption ??
      edited?.videoMessage?.caption ??
      edited?.documentMessage?.caption;
    if (typeof text === 'string') (target.edits ??= []).push(text);
  }
  return true;
}
