/** Chats, contacts and groups of an instance, as WhatsApp reports them. */
import type { Knex } from 'knex';
import type { Db } from './knex.js';
import type { ChatInfo, ContactInfo, GroupInfo } from '../whatsapp/session.js';

const usable = (id: string) => /@(s\.whatsapp\.net|g\.us)$/.test(id);

/** Chats, in one statement per kind of change; `lastMessage` never moves backwards. */
export async function upsertChats(db: Db, instanceId: string, chats: ChatInfo[]): Promise<void> {
  // Rows of one insert must carry the same columns: group the chats by which fields they change.
  const groups = new Map<string, Array<Record<string, unknown>>>();
  for (const chat of chats.filter((c) => usable(c.id))) {
    const row: Record<string, unknown> = { instance_id: instanceId, id: chat.id };
    if (chat.name !== undefined) row.name = chat.name;
    if (chat.unreadCount !== undefined) row.unread_count = chat.unreadCount;
    if (chat.archived !== undefined) row.archived = chat.archived;
    if (chat.lastMessage !== undefined) row.last_message = chat.lastMessage;
    const key = Object.keys(row).join(',');
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  for (const rows of groups.values()) {
    const columns = Object.keys(rows[0]!).filter((c) => c !== 'instance_id' && c !== 'id');
    const insert = db('chats').insert(rows).onConflict(['instance_id', 'id']);
    if (columns.length === 0) {
      await insert.ignore();
      continue;
    }
    await insert.merge(
      Object.fromEntries(
        columns.map((c) => [
          c,
          c === 'last_message' ? db.raw('greatest(chats.last_message, excluded.last_message)') : db.raw('excluded.??', [c]),
        ]),
      ),
    );
  }
}

export async function upsertContacts(db: Db, instanceId: string, contacts: ContactInfo[]): Promise<void> {
  const numbered = contacts.filter((c) => c.id.endsWith('@s.whatsapp.net'));
  for (const contact of numbered) {
    const patch: Record<string, unknown> = { updated_at: db.fn.now() };
    if (contact.name !== undefined) patch.name = contact.name;
    if (contact.notify !== undefined) patch.notify = contact.notify;
    if (contact.lid) patch.lid = contact.lid;
    await db('contacts')
      .insert({ instance_id: instanceId, id: contact.id, ...patch })
      .onConflict(['instance_id', 'id'])
      .merge(patch);
  }
  // A contact's LID now known: a chat kept under it becomes one with the number's.
  await foldLidChats(
    db,
    instanceId,
    numbered.flatMap((c) => (c.lid ? [{ pn: c.id, lid: c.lid }] : [])),
  );
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
    await db('groups')
      .insert({ instance_id: instanceId, id: group.id, ...row })
      .onConflict(['instance_id', 'id'])
      .merge(row);
    // A group is also a chat.
    await db('chats')
      .insert({ instance_id: instanceId, id: group.id, name: group.name })
      .onConflict(['instance_id', 'id'])
      .merge({ name: group.name });
  }
}

/**
 * Removes the chat a send stored for a number that is not on WhatsApp,
 * unless some message of it went out or came in after all.
 */
export async function forgetUnknownChat(db: Db, instanceId: string, chatId: string): Promise<void> {
  await db('chats')
    .where({ instance_id: instanceId, id: chatId })
    .whereNotExists(
      db('messages').where({ instance_id: instanceId, chat_id: chatId }).whereNotIn('status', ['pending', 'failed']).select(db.raw('1')),
    )
    .delete();
}

/** A group the account is no longer in: it leaves the group list (its chat and messages stay). */
export async function forgetGroup(db: Db, instanceId: string, groupId: string): Promise<void> {
  await db('groups').where({ instance_id: instanceId, id: groupId }).delete();
}

/** When the group's stored row last changed (ms), or null when none is stored. */
export async function groupUpdatedAt(db: Db, instanceId: string, groupId: string): Promise<number | null> {
  const row = await db('groups').where({ instance_id: instanceId, id: groupId }).first('updated_at');
  return row ? new Date(row.updated_at).getTime() : null;
}

export interface GroupRow {
  instance_id: string;
  id: string;
  name: string | null;
  description: string | null;
  owner: string | null;
  creation: string | null;
  participants: Array<{ id: string; admin: string | null }>;
  updated_at: Date;
}

/** The groups the account is in, by name. */
export async function listGroups(db: Db, instanceId: string): Promise<GroupRow[]> {
  return db('groups').where({ instance_id: instanceId }).orderBy('name');
}

export async function groupIds(db: Db, instanceId: string): Promise<string[]> {
  return (await db('groups').where({ instance_id: instanceId }).orderBy('name').pluck('id')) as string[];
}

/** The group's members as last stored, or undefined when the group is not stored. */
export async function groupParticipants(
  db: Db | Knex.Transaction,
  instanceId: string,
  groupId: string,
): Promise<GroupRow['participants'] | undefined> {
  const group = await db('groups').where({ instance_id: instanceId, id: groupId }).first('participants');
  return group?.participants;
}

/** A phone-number JID and the LID of the same account. */
export interface LidPair {
  pn: string;
  lid: string;
}

/** The chats kept under a LID alone (WhatsApp hid the number, and no mapping was known). */
export async function lidChatIds(db: Db, instanceId: string): Promise<string[]> {
  return (await db('chats').where({ instance_id: instanceId }).where('id', 'like', '%@lid').pluck('id')) as string[];
}

/**
 * A chat first seen under a LID (WhatsApp hid the number) becomes one with
 * the chat under its phone number once the pair is known: its messages move
 * over (sender and recipient renamed, the LID kept beside), its unread count
 * adds up, and the LID's chat goes. One statement for any number of pairs;
 * nothing happens for a LID without a chat. Returns how many messages moved.
 */
export async function foldLidChats(db: Db | Knex.Transaction, instanceId: string, pairs: LidPair[]): Promise<number> {
  const known = pairs.filter((p) => p.pn.endsWith('@s.whatsapp.net') && p.lid.endsWith('@lid'));
  if (known.length === 0) return 0;
  const { rows } = await db.raw(
    `with pairs as (
       select distinct on (lid) pn, lid from unnest(?::text[], ?::text[]) as p(pn, lid)
     ), old as (
       delete from chats c using pairs p where c.instance_id = ? and c.id = p.lid returning c.*, p.pn
     ), moved as (
       update messages m
          set chat_id = p.pn,
              from_lid = case when m.from_jid = p.lid then coalesce(m.from_lid, p.lid) else m.from_lid end,
              from_jid = case when m.from_jid = p.lid then p.pn else m.from_jid end,
              to_jid = case when m.to_jid = p.lid then p.pn else m.to_jid end
         from pairs p
        where m.instance_id = ? and m.chat_id = p.lid
       returning 1
     ), merged as (
       insert into chats (instance_id, id, name, unread_count, last_message, archived)
       select ?, o.pn, o.name, o.unread_count, o.last_message, o.archived from old o
       on conflict (instance_id, id) do update
          set last_message = greatest(chats.last_message, excluded.last_message),
              unread_count = chats.unread_count + excluded.unread_count,
              name = coalesce(chats.name, excluded.name)
       returning 1
     )
     select (select count(*) from moved)::int as moved, (select count(*) from merged)::int as chats`,
    [known.map((p) => p.pn), known.map((p) => p.lid), instanceId, instanceId, instanceId],
  );
  return Number(rows[0]?.moved ?? 0);
}
