/**
 * Statuses (stories): a phone posts one to its contacts, encrypted with its
 * sender key like a group message, from `status@broadcast` with the poster as
 * participant; and a phone that views the account's status tells the
 * account's linked devices with a read receipt from `status@broadcast`.
 */
import type { proto } from '@whiskeysockets/baileys';
import { lidJid, type SimUser } from './directory.js';
import { sendGroupMessage, statusGroup, STATUS_JID } from './groupMessages.js';
import { unixNow } from './nodes.js';
import type { Simulator } from './simulator.js';

export { STATUS_JID };

/** `from`'s phone posts a status that `audience` (its contacts) get. Returns its id. */
export function postStatus(sim: Simulator, from: SimUser, audience: SimUser[], message: proto.IMessage): Promise<string> {
  const type = message.imageMessage || message.videoMessage ? 'media' : 'text';
  return sendGroupMessage(sim, from, statusGroup(from, audience), message, { stanzaType: type });
}

/** `viewer`'s phone views the status `id` that `poster`'s account posted: its linked devices get a read receipt. */
export async function viewStatus(sim: Simulator, viewer: SimUser, poster: SimUser, id: string): Promise<number> {
  let told = 0;
  for (const device of poster.companions.values()) {
    if (device.removed) continue;
    await sim.deliver(device, {
      tag: 'receipt',
      attrs: { from: STATUS_JID, participant: lidJid(viewer.lid), id, t: unixNow(), type: 'read' },
    });
    told++;
  }
  return told;
}
