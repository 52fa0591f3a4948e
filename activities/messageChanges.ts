import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { applyMessageChanges, type OwnChange } from '../db/messageChanges.js';
import type { MediaStore } from '../media/store.js';
import type { MessageChange } from '../whatsapp/session.js';

/**
 * Edits and deletes applied to the stored messages (db/messageChanges.ts),
 * heard from WhatsApp or sent by the gateway, and the media files of deleted
 * messages that are not kept removed (a failure leaves a file behind, and
 * says so).
 */
export async function changeMessages(
  deps: { db: Db; media: MediaStore; logger: Logger },
  instanceId: string,
  changes: Array<MessageChange | OwnChange>,
): Promise<void> {
  const { erasedMedia } = await applyMessageChanges(deps.db, instanceId, changes);
  for (const file of erasedMedia) {
    await deps.media
      .remove(instanceId, file)
      .catch((err) => deps.logger.warn({ err, instanceId, file }, "removing a deleted message's media failed"));
  }
}
