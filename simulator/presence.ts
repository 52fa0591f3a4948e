/**
 * What a linked device shows other phones: typing and recording in a chat
 * (`<chatstate>`), the account's online status (`<presence>`), and the
 * receipts it sends for messages it got (delivered, read...). WhatsApp relays
 * them to the other party; the simulator records what each phone saw.
 */
import type { BinaryNode } from '@whiskeysockets/baileys';
import { children } from './nodes.js';
import type { SimConnection } from './connection.js';
import type { Simulator } from './simulator.js';

export type SeenPresenceState = 'composing' | 'recording' | 'paused' | 'available' | 'unavailable';

/** A presence a phone saw from a linked device's account. */
export interface SeenPresence {
  /** The account showing it (phone number). */
  from: string;
  /** The phone that saw it; null for the account-wide online status (shown to every contact). */
  to: string | null;
  /** For a chat state in a group: the group. */
  group?: string;
  state: SeenPresenceState;
  at: number;
}

/** A receipt a phone got from a linked device, about messages the phone sent. */
export interface SeenReceipt {
  /** The account that sent it (phone number). */
  from: string;
  /** The phone whose messages it is about. */
  to: string;
  group?: string;
  ids: string[];
  /** delivered (no type on the stanza), read, read-self, played... */
  type: string;
  at: number;
}

/** `<chatstate from to><composing media?/></chatstate>` or `<presence type name?/>` from a device. */
export function recordPresence(sim: Simulator, conn: SimConnection, node: BinaryNode): void {
  const from = conn.companion?.user.phone;
  if (!from) return;
  if (node.tag === 'presence') {
    const type = node.attrs.type;
    // A presence with `to` is a subscription to someone's status, not the account's own.
    if ((type === 'available' || type === 'unavailable') && !node.attrs.to)
      sim.presences.push({ from, to: null, state: type, at: Date.now() });
    return;
  }
  const [state] = children(node);
  const to = node.attrs.to;
  if (!state || !to) return;
  const shown: SeenPresenceState | undefined =
    state.tag === 'composing' ? (state.attrs.media === 'audio' ? 'recording' : 'composing') : state.tag === 'paused' ? 'paused' : undefined;
  if (!shown) return;
  if (to.endsWith('@g.us')) {
    const group = sim.groupRegistry.get(to);
    for (const member of group?.participants ?? [])
      if (member.phone !== from) sim.presences.push({ from, to: member.phone, group: to, state: shown, at: Date.now() });
    return;
  }
  const recipient = sim.directory.find(to.split(/[@:]/)[0]!);
  if (recipient) sim.presences.push({ from, to: recipient.phone, state: shown, at: Date.now() });
}

/** `<receipt to id type? participant?><list><item id/></list></receipt>` from a device, as the sender's phone gets it. */
export function recordDeviceReceipt(sim: Simulator, conn: SimConnection, node: BinaryNode): void {
  const from = conn.companion?.user.phone;
  const { to, id, type, participant } = node.attrs;
  if (!from || !to || !id) return;
  const group = to.endsWith('@g.us') ? to : undefined;
  const about = sim.directory.find((group ? participant : to)?.split(/[@:]/)[0] ?? '');
  if (!about) return;
  const list = children(node).find((c) => c.tag === 'list');
  const ids = [id, ...children(list).flatMap((item) => (item.attrs.id ? [item.attrs.id] : []))];
  sim.deviceReceipts.push({ from, to: about.phone, ...(group ? { group } : {}), ids, type: type ?? 'delivered', at: Date.now() });
}
