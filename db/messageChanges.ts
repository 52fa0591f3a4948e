/**
 * Edits and deletions for everyone of stored messages: the message changes
 * and its event (`message_edited`, `message_revoked`) is recorded in the same
 * transaction. Only its author may edit a message; its author or, in a group,
 * an admin may delete it. A change of a message the gateway does not have is
 * dropped, and one heard twice changes nothing the second time.
 */
import type { Knex } from 'knex';
import type { Db } from './knex.js';
import { recordEvent } from './events.js';
import { getSettings } from './settings.js';
import { groupParticipants } from './directory.js';
import type { MessageChange } from '../whatsapp/session.js';
import type { MessageRow } from './messages.js';

/** A change the gateway itself made (an edit or a delete it sent): checked when the API accepted it. */
export type OwnChange = MessageChange & { trusted: true };

/** What applying changes left behind: media files of deleted messages that are no longer kept. */
export interface Applied {
  /** Changes applied (not dropped, not repeated). */
  applied: number;
  /** Stored media files (names in the instance's media storage) the deleted messages no longer need. */
  erasedMedia: string[];
}

/** One edit of a message, as `edits` keeps it. */
export interface Edit {
  body: string;
  previous: string;
  editedAt: number;
}

export async function applyMessageChanges(db: Db, instanceId: string, changes: Array<MessageChange | OwnChange>): Promise<Applied> {
  const result: Applied = { applied: 0, erasedMedia: [] };
  if (changes.length === 0) return result;
  const { keepRevokedMessages } = await getSettings(db, instanceId);
  for (const change of changes) {
    await db.transaction(async (trx) => {
      const row = await trx<MessageRow>('messages').where({ instance_id: instanceId, id: change.id }).forUpdate().first();
      if (!row || (row.revoked_at ?? null) !== null || !(await mayChange(trx, instanceId, row, change))) return;
      if (change.kind === 'edit') {
        const previous = row.body ?? '';
        if (previous === change.body) return;
        const edit: Edit = { body: change.body, previous, editedAt: change.at };
        await trx('messages')
          .where({ instance_id: instanceId, id: row.id })
          .update({
            body: change.body,
            edited_at: change.at,
            edits: trx.raw(`coalesce(edits, '[]'::jsonb) || ?::jsonb`, [JSON.stringify([edit])]),
            updated_at: trx.fn.now(),
          });
        await recordEvent(trx, instanceId, 'message_edited', {
          id: row.id,
          chatId: row.chat_id,
          body: change.body,
          previous,
          editedAt: change.at,
          from: row.from_jid,
          ...(row.from_lid ? { fromLid: row.from_lid } : {}),
          fromMe: row.from_me,
        });
      } else {
        const by = change.by || (await ownJid(trx, instanceId));
        await trx('messages')
          .where({ instance_id: instanceId, id: row.id })
          .update({
            revoked_at: change.at,
            revoked_by: by,
            ...(keepRevokedMessages ? {} : { body: '', edits: null, media: null }),
            updated_at: trx.fn.now(),
          });
        const file = row.media?.filename;
        if (!keepRevokedMessages && typeof file === 'string') result.erasedMedia.push(file);
        await recordEvent(trx, instanceId, 'message_revoked', {
          id: row.id,
          chatId: row.chat_id,
          by,
          ...(change.byLid ? { byLid: change.byLid } : {}),
          fromMe: row.from_me,
          revokedAt: change.at,
        });
      }
      result.applied++;
    });
  }
  return result;
}

/**
 * Whether WhatsApp lets `change.by` make this change: the message's author
 * (the account for its own messages), or for a delete in a group one of its
 * admins (as far as the gateway knows the group: without its members, WhatsApp
 * decided).
 */
async function mayChange(trx: Knex.Transaction, instanceId: string, row: MessageRow, change: MessageChange | OwnChange): Promise<boolean> {
  if ('trusted' in change) return true;
  if (row.chat_id !== change.chatId && !row.chat_id.endsWith('@lid') && !change.chatId.endsWith('@lid')) return false;
  const author = row.from_me
    ? change.fromMe
    : !change.fromMe && [row.from_jid, row.from_lid].some((j) => j && (j === change.by || j === change.byLid));
  if (author || change.kind === 'edit' || !row.chat_id.endsWith('@g.us')) return author;
  if (change.fromMe) return true; // the account's own delete of a member's message, made on its phone as an admin
  const participants = await groupParticipants(trx, instanceId, row.chat_id);
  if (!participants) return true;
  const user = (jid: string) => jid.split(/[@:]/)[0];
  return participants.some((p) => p.admin && [change.by, change.byLid].some((j) => j && user(j) === user(p.id)));
}

async function ownJid(trx: Knex.Transaction, instanceId: string): Promise<string> {
  const instance = await trx('instances').where({ id: instanceId }).first('account');
  const phone = (instance?.account as { phone?: string } | null)?.phone;
  return phone ? `${phone}@s.whatsapp.net` : '';
}
