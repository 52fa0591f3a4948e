/**
 * What a phone sends a newly linked device, as WhatsApp does: the app-state
 * sync key, then history sync notifications. INITIAL_BOOTSTRAP carries the
 * recent conversations (here: the address book's contacts, with the names
 * the owner saved them under, and the groups the account is in) and the
 * LID ↔ phone-number mappings; PUSH_NAME carries the push names of everyone
 * the account knows.
 *
 * WhatsApp hosts every history blob but the bootstrap on mmg.whatsapp.net,
 * which Baileys reaches by `directPath` alone (a notification has no url to
 * point elsewhere). The simulator cannot be that host, so it inlines each
 * blob as `initialHistBootstrapInlinePayload`, which Baileys decodes for any
 * sync type; what the device receives is otherwise the same.
 */
import { deflateSync } from 'node:zlib';
import { proto } from '@whiskeysockets/baileys';
import { lidJid, pnJid, type Companion, type SimUser } from './directory.js';
import { sendFromPhone } from './messages.js';
import type { Simulator } from './simulator.js';

export async function sendInitialHistory(sim: Simulator, companion: Companion): Promise<void> {
  companion.historySent = true;
  const owner = companion.user;
  const toDevice = { onlyDevice: companion.deviceId, stanzaType: 'text', category: 'peer' } as const;
  await sendFromPhone(sim, owner, owner, sim.appState.keyShare(owner), toDevice);

  const contacts = [...owner.addressBook].flatMap(([phone, savedName]) => {
    const user = sim.directory.find(phone);
    return user ? [{ user, savedName }] : [];
  });
  const groups = sim.groupRegistry.of(owner);
  const known = new Set<SimUser>([...contacts.map((c) => c.user), ...groups.flatMap((g) => g.participants)]);
  known.delete(owner);
  const now = Math.floor(Date.now() / 1000);

  const bootstrap: proto.IHistorySync = {
    syncType: proto.HistorySync.HistorySyncType.INITIAL_BOOTSTRAP,
    conversations: [
      ...contacts.map(({ user, savedName }) => ({
        id: pnJid(user.phone),
        name: savedName,
        lidJid: lidJid(user.lid),
        unreadCount: 0,
        conversationTimestamp: now,
      })),
      ...groups.map((group) => ({ id: group.id, name: group.subject, unreadCount: 0, conversationTimestamp: group.creation })),
    ],
    phoneNumberToLidMappings: [...known].map((user) => ({ pnJid: pnJid(user.phone), lidJid: lidJid(user.lid) })),
  };
  const pushNames: proto.IHistorySync = {
    syncType: proto.HistorySync.HistorySyncType.PUSH_NAME,
    pushnames: [...known].map((user) => ({ id: pnJid(user.phone), pushname: user.name })),
  };
  let chunk = 0;
  for (const history of [bootstrap, pushNames]) {
    await sendFromPhone(
      sim,
      owner,
      owner,
      {
        protocolMessage: {
          type: proto.Message.ProtocolMessage.Type.HISTORY_SYNC_NOTIFICATION,
          historySyncNotification: {
            syncType: history.syncType,
            chunkOrder: ++chunk,
            progress: 100,
            initialHistBootstrapInlinePayload: deflateSync(proto.HistorySync.encode(history).finish()),
          },
        },
      },
      toDevice,
    );
  }
}
