import type { EventEmitter } from 'node:events';
import {
  areJidsSameUser,
  getBinaryNodeChildren,
  getStatusFromReceiptType,
  isJidGroup,
  isJidStatusBroadcast,
  proto,
  type BinaryNode,
  type WAMessageUpdate,
} from '@whiskeysockets/baileys';

/**
 * The status updates Baileys makes of a receipt stanza (its handleReceipt):
 * the same keys and statuses, for one-to-one chats. Group and status
 * receipts (per participant) are left to Baileys. Pure; table-tested.
 */
export function receiptUpdates(node: BinaryNode, me: { id?: string; lid?: string } | undefined): WAMessageUpdate[] {
  const { attrs, content } = node;
  if (!attrs.from || !attrs.id) return [];
  const isLid = attrs.from.includes('lid');
  const isNodeFromMe = areJidsSameUser(attrs.participant || attrs.from, isLid ? me?.lid : me?.id);
  const remoteJid = !isNodeFromMe || isJidGroup(attrs.from) ? attrs.from : attrs.recipient;
  if (!remoteJid || isJidGroup(remoteJid) || isJidStatusBroadcast(remoteJid)) return [];
  const status = getStatusFromReceiptType(attrs.type);
  // Only a delivery or read of this account's messages, or another device of the account reading a chat.
  if (status === undefined || !(status >= proto.WebMessageInfo.Status.SERVER_ACK || !isNodeFromMe)) return [];
  const fromMe = !attrs.recipient || ((attrs.type === 'retry' || attrs.type === 'sender') && isNodeFromMe);
  const ids = [attrs.id];
  if (Array.isArray(content) && content[0]) ids.push(...getBinaryNodeChildren(content[0], 'item').map((item) => item.attrs.id!));
  return ids.map((id) => ({
    key: { remoteJid, id, fromMe, ...(attrs.participant ? { participant: attrs.participant } : {}) },
    update: { status },
  }));
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 10_000;

/**
 * Makes Baileys acknowledge a receipt to WhatsApp only after the gateway
 * recorded what it says. Baileys acknowledges a receipt as soon as it has
 * emitted its update, before any listener could store it: a worker killed
 * in between lost the receipt for good, since WhatsApp redelivers only what
 * was never acknowledged. Here each receipt stanza is recorded first (`record`
 * resolves once it is stored; a failure is retried while the socket is open),
 * then handed to Baileys' own handler, in the order the stanzas arrived. A
 * receipt whose socket closes before it is recorded is never acknowledged,
 * and WhatsApp delivers it again to the next connection.
 *
 * Returns the filter for Baileys' own `messages.update` events: the updates
 * recorded here already are left out of them.
 */
export function recordReceiptsFirst(options: {
  ws: EventEmitter;
  me: () => { id?: string; lid?: string } | undefined;
  record: (updates: WAMessageUpdate[]) => Promise<void>;
  isOpen: () => boolean;
  onRetry: (err: unknown) => void;
}): (updates: WAMessageUpdate[]) => WAMessageUpdate[] {
  const { ws } = options;
  const baileys = ws.listeners('CB:receipt') as Array<(node: BinaryNode) => unknown>;
  ws.removeAllListeners('CB:receipt');
  /** Updates recorded here, until Baileys emits them. */
  const recorded = new Set<string>();
  const keyOf = (u: WAMessageUpdate) => `${u.key.remoteJid}|${u.key.id}|${u.key.fromMe}|${u.update.status}`;
  let chain = Promise.resolve();

  async function recordNow(updates: WAMessageUpdate[]): Promise<boolean> {
    for (let delay = RETRY_FIRST_MS; ; delay = Math.min(delay * 2, RETRY_MAX_MS)) {
      if (!options.isOpen()) return false;
      try {
        await options.record(updates);
        return true;
      } catch (err) {
        options.onRetry(err);
        await new Promise((resolve) => setTimeout(resolve, delay));
      }
    }
  }

  ws.on('CB:receipt', (node: BinaryNode) => {
    const updates = receiptUpdates(node, options.me());
    // Recording starts at once (receipts coalesce into one write); Baileys gets the stanzas in order.
    const stored = updates.length ? recordNow(updates) : Promise.resolve(true);
    chain = chain
      .then(() => stored)
      .then((ok) => {
        if (!ok) return;
        for (const update of updates) recorded.add(keyOf(update));
        // Bounded, should Baileys fold an update into something else and never emit it.
        while (recorded.size > 10_000) recorded.delete(recorded.values().next().value!);
        for (const listener of baileys) void listener(node);
      });
  });

  return (updates) => {
    if (recorded.size === 0) return updates;
    return updates.filter((update) => !recorded.delete(keyOf(update)));
  };
}
