/**
 * Runs a bulk campaign (workflows/campaign.ts): hands its recipients' messages
 * to the instance's outbox in order, spaced by the campaign's delay. It waits
 * for each message to leave the outbox before the next one's delay starts
 * (with no delay, it keeps a batch in the outbox), so a campaign sent while
 * the instance is offline resumes at its own pace rather than in a burst.
 * Every recipient is handed over exactly once: its message id is recorded
 * before the message is stored, with an idempotency key the outbox refuses a
 * second time.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { completeCampaign, countsOf, getCampaign, inOutbox, moveCampaign, nextRecipients, type Counts } from '../db/campaigns.js';
import { getInstance } from '../db/instances.js';
import { isRestricted, liftExpired } from '../db/restrictions.js';
import { createCampaignRound, delayMs, isDelayed, LOOK_MS } from './campaignRound.js';

export interface CampaignDeps {
  db: Db;
  logger: Logger;
  /** Wakes the instance's outbox workflow (starting it if need be). */
  wakeOutbox: (instanceId: string) => Promise<void>;
  /**
   * Subscribes to messages leaving pending (STATUS_CHANNEL: a drain announces "sent" as the message goes on
   * the socket, before its status is recorded); returns the unsubscribe function.
   */
  onStatus: (handler: (instanceId: string, messageId: string, status: string) => void) => () => void;
}

export type CampaignRun =
  | { state: 'completed'; counts: Counts }
  | { state: 'cancelled' | 'paused' }
  /** It ran its time with recipients left; how far it got. */
  | { state: 'more'; counts: Counts }
  /** Its start time has not come (a resumed campaign that was scheduled). */
  | { state: 'scheduled'; startAt: number };

/** Recipients kept in the outbox at once when the campaign has no delay. */
const BATCH = 200;
const HEARTBEAT_EVERY_MS = 2_000;

export function createCampaignActivities({ db, logger, wakeOutbox, onStatus }: CampaignDeps) {
  const { outstandingSends, recoverRound, handOverNext } = createCampaignRound({ db, wakeOutbox, onStatus });

  return {
    async runCampaign({
      instanceId,
      jobId,
      maxMs = 10 * 60_000,
    }: {
      instanceId: string;
      jobId: number;
      maxMs?: number;
    }): Promise<CampaignRun> {
      const ctx = Context.current();
      const started = Date.now();
      const outstanding = outstandingSends(instanceId);
      let handed = 0;
      let lastBeat = 0;
      let recovered = false;
      /** When the next recipient may be handed over (the delay after the previous one went out). */
      let nextAt = 0;
      let waitingForSend = false;
      const beat = () => {
        if (Date.now() - lastBeat < HEARTBEAT_EVERY_MS) return;
        lastBeat = Date.now();
        ctx.heartbeat({ handed });
      };
      try {
        for (;;) {
          beat();
          let job = await getCampaign(db, instanceId, jobId);
          if (!job || job.status === 'cancelled') return { state: 'cancelled' };
          if (job.status === 'completed') return { state: 'completed', counts: (await countsOf(db, [jobId])).get(jobId)! };
          if (job.status === 'paused') return { state: 'paused' };
          if (job.status === 'scheduled') {
            if (job.start_at && job.start_at.getTime() > Date.now()) return { state: 'scheduled', startAt: job.start_at.getTime() };
            job = (await moveCampaign(db, instanceId, jobId, ['scheduled'], 'running')) ?? job;
            continue;
          }
          if (ctx.cancellationSignal.aborted || Date.now() - started > maxMs)
            return { state: 'more', counts: (await countsOf(db, [jobId])).get(jobId)! };

          if (!recovered) {
            recovered = true;
            nextAt = (await recoverRound(job, outstanding.ids)) || nextAt;
          }
          const delayed = isDelayed(job);
          if (outstanding.ids.size > (delayed ? 0 : BATCH / 2)) {
            waitingForSend = true;
            await outstanding.settle();
            continue;
          }
          if (delayed && waitingForSend) {
            // The previous message went out: the delay starts now.
            waitingForSend = false;
            nextAt = Date.now() + delayMs(job);
          }
          if (Date.now() < nextAt) {
            await sleep(Math.min(LOOK_MS, nextAt - Date.now()));
            continue;
          }
          const instance = await getInstance(db, instanceId);
          if (instance?.status !== 'open') {
            // Offline: wait rather than pile messages up in the outbox.
            await sleep(LOOK_MS);
            continue;
          }
          if (await isRestricted(db, instanceId)) {
            // WhatsApp restricts the account (capped, timelocked): paused until it lifts (db/restrictions.ts resumes it).
            await moveCampaign(db, instanceId, jobId, ['running'], 'paused', 'restriction');
            // Lifted meanwhile, before the pause could be seen by the lifting: not left paused.
            await liftExpired(db, instanceId);
            continue;
          }
          const next = await nextRecipients(db, jobId, delayed ? 1 : BATCH - outstanding.ids.size);
          if (next.length === 0) {
            if (outstanding.ids.size > 0) {
              waitingForSend = true;
              await outstanding.settle();
              continue;
            }
            // Every message went out; their statuses are recorded a moment later, and the counts must include them.
            if ((await inOutbox(db, jobId)).length > 0) {
              await sleep(100);
              continue;
            }
            const counts = await completeCampaign(db, instanceId, jobId);
            if (!counts) continue; // paused or cancelled meanwhile
            logger.info({ instanceId, jobId, ...counts }, 'campaign completed');
            return { state: 'completed', counts };
          }
          const went = await handOverNext(job, next, outstanding.ids);
          if (went > 0) {
            handed += went;
            waitingForSend = true;
          }
        }
      } finally {
        outstanding.close();
      }
    },
  };
}

export type CampaignActivities = ReturnType<typeof createCampaignActivities>;
