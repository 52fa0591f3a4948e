/**
 * What a held session does with WhatsApp's restriction signals: records each
 * (db/restrictions.ts pauses or resumes the instance's campaigns in the same
 * transaction), tells resumed campaigns' workflows, and resumes them by itself
 * when a restriction's end passes without word from WhatsApp.
 */
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { liftExpired, nextExpiry, recordRestriction } from '../db/restrictions.js';
import type { AccountRestriction } from '../whatsapp/session.js';

export interface RestrictionDeps {
  db: Db;
  logger: Logger;
  /** Tells a campaign's workflow its job changed (a resumed job waits for that). */
  campaignChanged?: (instanceId: string, jobId: number) => Promise<void>;
}

/** setTimeout's longest wait; a later end is looked at again then. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export function createRestrictionWatch({ db, logger, campaignChanged }: RestrictionDeps, instanceId: string) {
  let timer: NodeJS.Timeout | undefined;
  let closed = false;
  // One change at a time, in the order WhatsApp reported them.
  let chain = Promise.resolve();
  const later = (work: () => Promise<void>) => {
    chain = chain.then(work).catch((err) => logger.error({ err, instanceId }, 'recording an account restriction failed'));
  };
  const tell = (jobIds: number[]) => {
    for (const jobId of jobIds)
      campaignChanged?.(instanceId, jobId).catch((err) => logger.warn({ err, instanceId, jobId }, 'telling a resumed campaign failed'));
  };
  const watchExpiry = async () => {
    clearTimeout(timer);
    timer = undefined;
    const at = await nextExpiry(db, instanceId);
    if (at === undefined || closed) return;
    timer = setTimeout(() => later(lift), Math.min(MAX_TIMER_MS, Math.max(0, at - Date.now()) + 250));
    timer.unref();
  };
  const lift = async () => {
    const resumed = await liftExpired(db, instanceId);
    if (resumed.length) logger.info({ instanceId, resumed }, 'account restriction ended: campaigns resumed');
    tell(resumed);
    await watchExpiry();
  };

  return {
    record(restriction: AccountRestriction): void {
      later(async () => {
        const { restricted, paused, resumed } = await recordRestriction(db, instanceId, restriction);
        logger.warn({ instanceId, restriction, restricted, paused, resumed }, 'WhatsApp account restriction');
        tell(resumed);
        await watchExpiry();
      });
    },
    /** The session opened: a restriction may have ended while none was held. */
    check(): void {
      later(lift);
    },
    close(): void {
      closed = true;
      clearTimeout(timer);
    },
  };
}
