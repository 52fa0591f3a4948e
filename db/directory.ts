/** Chats, contacts and groups of an instance, as WhatsApp reports them. */
import type { Db } from './knex.js';
import type { ChatInfo, ContactInfo, GroupInfo } from '../whatsapp/session.js';

const usable = (id: string) => /@(s\.whatsapp\.net|g\.us)$/.test(id);

export async function upsertChats(db: Db, instanceId: string, chats: ChatInfo[]): Promise<void> {
  for (const chat of chats.filter((c) => usable(c.id))) {
    const patch: Record<string, unknown> = {};
    if (chat.name !== undefined) patch.name = chat.name;
    if (chat.unreadCount !== undefined) patch.unread_count = chat.unreadCount;
    if (chat.archived !== undefined) patch.archived = chat.archived;
    if (chat.lastMessage !== undefined) patch.last_message = chat.lastMessage;
    const insert = db('chats').insert({ instance_id: instanceId, id: chat.id, ...patch }).onConflict(['instance_id', 'id']);
    await (Object.keys(patch).length ? insert.merge(patch) : insert.ignore());
  }
}

export async function upsertContacts(db: Db, instanceId: string, contacts: ContactInfo[]): Promise<void> {
  for (const contact of contacts.filter((c) => c.id.endsWith('@s.whatsapp.net'))) {
    const patch: Record<string, unknown> = { updated_at: db.fn.now() };
    if (contact.name !== undefined) patch.name = contact.name;
    if (contact.notify !== undefined) patch.notify = contact.notify;
    if (contact.lid) patch.lid = contact.lid;
    await db('contacts').insert({ instance_id: instanceId, id: contact.id, ...patch }).onConflict(['instance_id', 'id']).merge(patch);
  }
}

export async function upsertGroups(db: Db, instanceId: string, groups: GroupInfo[]): Promise<void> {
  for (const group of groups) {
    const row = {
      name: group.name,
      description: group.description,
      owner: group.owner,
      creation: group.creation,
      participants: JSON.stringify(group.participants),
      updated_at: db.fn.now(),
    };
    await db('groups').insert({ instance_id: instanceId, id: group.id, ...row }).onConflict(['instance_id', 'id']).merge(row);
    // A group is also a chat.
    await db('chats').insert({ instance_id: instanceId, id: group.id, name: group.name }).onConflict(['instance_id', 'id']).merge({ name: group.name });
  }
}
