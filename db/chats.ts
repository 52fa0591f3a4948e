/** The chats of an instance as the API shows and changes them (what WhatsApp reports is stored by db/directory.ts). */
import type { Db } from './knex.js';

export interface ChatListRow {
  id: string;
  name: string | null;
  unread_count: number;
  last_message: string | null;
  archived: boolean;
  contact_name: string | null;
  notify: string | null;
}

/** The instance's chats (those carrying `label`, if given), latest message first, with their contact's names. */
export async function listChats(db: Db, instanceId: string, label?: string): Promise<ChatListRow[]> {
  const chats = db('chats as c')
    .leftJoin('contacts as p', function () {
      this.on('p.instance_id', 'c.instance_id').andOn('p.id', 'c.id');
    })
    .where('c.instance_id', instanceId);
  if (label)
    chats.whereExists(db('chat_labels as l').whereRaw('l.instance_id = c.instance_id and l.chat_id = c.id').andWhere('l.label_id', label));
  return chats
    .orderByRaw('c.last_message desc nulls last')
    .select('c.id', 'c.name', 'c.unread_count', 'c.last_message', 'c.archived', 'p.name as contact_name', 'p.notify');
}

/** The ids of the instance's chats, latest message first. */
export async function chatIds(db: Db, instanceId: string): Promise<string[]> {
  return (await db('chats').where({ instance_id: instanceId }).orderByRaw('last_message desc nulls last').pluck('id')) as string[];
}

/** The chat's latest messages from the contact (at most `limit`), newest first. */
export async function latestIncoming(
  db: Db,
  instanceId: string,
  chatId: string,
  limit: number,
): Promise<Array<{ id: string; from_jid: string | null }>> {
  return db('messages')
    .where({ instance_id: instanceId, chat_id: chatId, from_me: false })
    .orderBy('seq', 'desc')
    .limit(limit)
    .select('id', 'from_jid');
}

/** Those of these messages that are in the chat. */
export async function messagesOfChat(
  db: Db,
  instanceId: string,
  chatId: string,
  ids: string[],
): Promise<Array<{ id: string; from_jid: string | null; from_me: boolean }>> {
  return db('messages').where({ instance_id: instanceId, chat_id: chatId }).whereIn('id', ids).select('id', 'from_jid', 'from_me');
}

/** The chat's latest message, which WhatsApp's chat changes name. */
export async function lastMessageOfChat(
  db: Db,
  instanceId: string,
  chatId: string,
): Promise<{ id: string; from_me: boolean; timestamp: string } | undefined> {
  return db('messages').where({ instance_id: instanceId, chat_id: chatId }).orderBy('seq', 'desc').first('id', 'from_me', 'timestamp');
}

export async function markChatRead(db: Db, instanceId: string, chatId: string): Promise<void> {
  await db('chats').where({ instance_id: instanceId, id: chatId }).update({ unread_count: 0 });
}

/** Archives or unarchives the chat, storing it if it was not known. */
export async function setChatArchived(db: Db, instanceId: string, chatId: string, archived: boolean): Promise<void> {
  await db('chats').insert({ instance_id: instanceId, id: chatId, archived }).onConflict(['instance_id', 'id']).merge({ archived });
}

/** The chat and its messages (with the votes on its polls) and labels, in one transaction. */
export async function deleteChat(db: Db, instanceId: string, chatId: string): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('chat_labels').where({ instance_id: instanceId, chat_id: chatId }).delete();
    await trx('poll_votes')
      .where({ instance_id: instanceId })
      .whereIn('poll_id', trx('messages').where({ instance_id: instanceId, chat_id: chatId, type: 'poll' }).select('id'))
      .delete();
    await trx('messages').where({ instance_id: instanceId, chat_id: chatId }).delete();
    await trx('chats').where({ instance_id: instanceId, id: chatId }).delete();
  });
}
