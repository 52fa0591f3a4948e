/**
 * Labels of a WhatsApp Business account, as its phone keeps them: app-state
 * mutations of the `regular` collection (`label_edit` for a label,
 * `label_jid` for a label on a chat). The phone changes them, and its linked
 * devices fetch the patch; a device's own changes come in as patches the
 * simulator records, and labelsOf reads both.
 */
import { AppStateServer } from './appState.js';
import type { SimUser } from './directory.js';
import type { Simulator } from './simulator.js';

const COLLECTION = 'regular';

export interface SimLabel {
  id: string;
  name: string;
  color: number;
}

/** The phone creates, renames, recolours or deletes a label; the account's linked devices are told. */
export async function editLabelOnPhone(sim: Simulator, owner: SimUser, label: SimLabel & { deleted?: boolean }): Promise<void> {
  await change(sim, owner, ['label_edit', label.id], {
    timestamp: Date.now(),
    labelEditAction: { name: label.name, color: label.color, deleted: !!label.deleted },
  });
}

/** The phone puts a label on a chat (`chat`: a JID), or takes it off. */
export async function labelChatOnPhone(sim: Simulator, owner: SimUser, chat: string, labelId: string, labeled: boolean): Promise<void> {
  await change(sim, owner, ['label_jid', labelId, chat], { timestamp: Date.now(), labelAssociationAction: { labeled } });
}

async function change(sim: Simulator, owner: SimUser, index: string[], value: Parameters<AppStateServer['phoneChange']>[3]): Promise<void> {
  const version = await sim.appState.phoneChange(owner, COLLECTION, index, value);
  sim.changed();
  for (const device of owner.companions.values()) {
    if (!device.removed && device.historySent) await sim.deliver(device, AppStateServer.serverSyncNotification(COLLECTION, version));
  }
}

/** The account's labels and which chats carry each, as every change so far (its devices' and its phone's) left them. */
export function labelsOf(sim: Simulator, owner: SimUser): { labels: SimLabel[]; chats: Record<string, string[]> } {
  const labels = new Map<string, SimLabel>();
  const chats = new Map<string, Set<string>>();
  for (const m of sim.appState.mutations(owner)) {
    if (m.collection !== COLLECTION) continue;
    const [kind, labelId, chat] = m.index;
    if (kind === 'label_edit' && labelId) {
      const edit = m.value?.labelEditAction;
      if (!edit || edit.deleted) {
        labels.delete(labelId);
        chats.delete(labelId);
      } else labels.set(labelId, { id: labelId, name: edit.name ?? '', color: edit.color ?? 0 });
    }
    if (kind === 'label_jid' && labelId && chat) {
      const on = chats.get(labelId) ?? new Set<string>();
      if (m.value?.labelAssociationAction?.labeled) on.add(chat);
      else on.delete(chat);
      chats.set(labelId, on);
    }
  }
  return {
    labels: [...labels.values()],
    chats: Object.fromEntries([...chats].filter(([id]) => labels.has(id)).map(([id, on]) => [id, [...on].sort()])),
  };
}
