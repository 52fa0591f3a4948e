import type { PendingMessage } from '../db/messages.js';
import { forgetUnknownChat } from '../db/directory.js';
import { isChatless, isGroupJid } from '../domain/recipients.js';
import { TtlCache } from '../lib/ttlCache.js';
import type { WhatsAppSession } from '../whatsapp/session.js';
import { PermanentSendError } from './permanentSendError.js';
import type { OutboxDeps } from './outbox.js';

const EXISTS_TTL_MS = 10 * 60_000;

export type RecipientLookups = ReturnType<typeof createRecipientLookups>;

/** Whether the drain's recipients are on WhatsApp, remembered for a few minutes. */
export function createRecipientLookups({ db, logger }: Pick<OutboxDeps, 'db' | 'logger'>) {
  // Whether a number is on WhatsApp, per instance and JID, for a few minutes.
  const existsCache = new TtlCache<boolean>(EXISTS_TTL_MS);

  /**
   * Looks up the batch's recipients not looked up lately in one query: one by one, a burst to many new
   * numbers waited a round trip per number before each send. A failed lookup is left to ensureRecipient.
   */
  async function lookUpRecipients(session: WhatsAppSession, instanceId: string, batch: PendingMessage[]): Promise<void> {
    const unknown = [...new Set(batch.map((m) => m.chat_id))].filter(
      (jid) => !isGroupJid(jid) && !isChatless(jid) && !existsCache.has(`${instanceId}|${jid}`),
    );
    if (unknown.length < 2) return;
    try {
      for (const [jid, exists] of await session.existing(unknown)) existsCache.set(`${instanceId}|${jid}`, exists);
    } catch (err) {
      logger.debug({ err, instanceId }, 'looking up recipients failed');
    }
  }

  async function ensureRecipient(session: WhatsAppSession, instanceId: string, jid: string): Promise<void> {
    // A group, a status (its audience was taken from the account's contacts, or given) or a channel.
    if (isGroupJid(jid) || isChatless(jid)) return;
    const exists = await existsCache.get(`${instanceId}|${jid}`, async () => (await session.exists(jid)).exists);
    if (!exists) {
      // The send stored a chat for it; a number WhatsApp does not know has none.
      await forgetUnknownChat(db, instanceId, jid);
      throw new PermanentSendError(`${jid.split('@')[0]} is not on WhatsApp`);
    }
  }

  return { lookUpRecipients, ensureRecipient };
}
