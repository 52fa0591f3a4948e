/**
 * The account's labels (WhatsApp Business) and the chats that carry them.
 * Every change that changes something records a `label_update` event in the
 * same transaction; a change heard again (a resync) changes nothing.
 */
import type { Db } from './knex.js';
import { recordEvent } from './events.js';
import type { LabelChange } from '../whatsapp/session.js';

/** Where a change was made: through the API, or on another device of the account (the phone). */
export type ChangeSource = 'api' | 'phone';

export interface LabelRow {
  id: string;
  name: string;
  color: number;
  chats: number;
}

export async function listLabels(db: Db, instanceId: string): Promise<LabelRow[]> {
  const rows: Array<{ id: string; name: string; color: number; chats: string }> = await db('labels as l')
    .where('l.instance_id', instanceId)
    .select('l.id', 'l.name', 'l.color')
    .select(db('chat_labels as c').whereRaw('c.instance_id = l.instance_id and c.label_id = l.id').count('*').as('chats'))
    .orderByRaw("case when l.id ~ '^[0-9]+$' then lpad(l.id, 12, '0') else l.id end");
  return rows.map((r) => ({ id: r.id, name: r.name, color: Number(r.color), chats: Number(r.chats) }));
}

export async function getLabel(db: Db, instanceId: string, id: string): Promise<Omit<LabelRow, 'chats'> | undefined> {
  return db('labels').where({ instance_id: instanceId, id }).first('id', 'name', 'color');
}

/** The id a new label gets: one more than the greatest numeric id the account has (WhatsApp's own are small numbers). */
export async function nextLabelId(db: Db, instanceId: string): Promise<string> {
  const [{ max }] = await db('labels')
    .where({ instance_id: instanceId })
    .whereRaw("id ~ '^[0-9]{1,9}$'")
    .max<{ max: number | null }[]>({ max: db.raw('id::int') });
  return String(Math.max(Number(max ?? 0), 0) + 1);
}

/** The labels of these chats, by chat. */
export async function labelsOfChats(db: Db, instanceId: string, chatIds: string[]): Promise<Map<string, string[]>> {
  const rows: Array<{ chat_id: string; label_id: string }> = await db('chat_labels')
    .where({ instance_id: instanceId })
    .whereIn('chat_id', chatIds)
    .select('chat_id', 'label_id');
  const byChat = new Map<string, string[]>();
  for (const row of rows) byChat.set(row.chat_id, [...(byChat.get(row.chat_id) ?? []), row.label_id]);
  return byChat;
}

/** Applies label changes, each in its own transaction with its event; returns how many changed something. */
export async function applyLabelChanges(db: Db, instanceId: string, changes: LabelChange[], by: ChangeSource): Promise<number> {
  let changed = 0;
  for (const change of changes) {
    const did = await db.transaction(async (trx) => {
      if (change.kind === 'chat') {
        const touched = change.labeled
          ? await trx('chat_labels')
              .insert({ instance_id: instanceId, chat_id: change.chatId, label_id: change.labelId })
              .onConflict()
              .ignore()
              .returning('label_id')
          : await trx('chat_labels')
              .where({ instance_id: instanceId, chat_id: change.chatId, label_id: change.labelId })
              .delete()
              .returning('label_id');
        if (touched.length === 0) return false;
        await recordEvent(trx, instanceId, 'label_update', {
          labelId: change.labelId,
          chatId: change.chatId,
          action: change.labeled ? 'added' : 'removed',
          by,
        });
        return true;
      }
      const before = await trx('labels').where({ instance_id: instanceId, id: change.id }).forUpdate().first('name', 'color');
      if (change.deleted) {
        if (!before) return false;
        await trx('chat_labels').where({ instance_id: instanceId, label_id: change.id }).delete();
        await trx('labels').where({ instance_id: instanceId, id: change.id }).delete();
        await recordEvent(trx, instanceId, 'label_update', { labelId: change.id, name: before.name, action: 'deleted', by });
        return true;
      }
      if (before && before.name === change.name && Number(before.color) === change.color) return false;
      await trx('labels')
        .insert({ instance_id: instanceId, id: change.id, name: change.name, color: change.color })
        .onConflict(['instance_id', 'id'])
        .merge({ name: change.name, color: change.color, updated_at: trx.fn.now() });
      await recordEvent(trx, instanceId, 'label_update', {
        labelId: change.id,
        name: change.name,
        color: change.color,
        action: before ? 'updated' : 'created',
        by,
      });
      return true;
    });
    if (did) changed++;
  }
  return changed;
}

