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
import {
  claimRecipients,
  completeCampaign,
  countsOf,
  getCampaign,
  idempotencyKeyOf,
  inOutbox,
  moveCampaign,
  nextRecipients,
  skipOptedOut,
  type CampaignRow,
  type Counts,
  lastSentAt,
} from '../db/campaigns.js';
import { getInstance } from '../db/instances.js';
import { noLongerPending } from '../db/messages.js';
import { insertOutgoing, outgoing } from '../db/outgoing.js';
import { isRestricted, liftExpired } from '../db/restrictions.js';
import { bodyOf, contentFor, newMessageId, type StoredContent } from '../domain/content.js';
import { typingMsFor } from '../domain/typing.js';
import { phoneOf } from '../domain/recipients.js';

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
/** How often a waiting campaign looks at its job again (a pause or a cancel is seen within this). */
const LOOK_MS = 1_000;
const SETTLE_MS = 20;

export function createCampaignActivities({ db, logger, wakeOutbox, onStatus }: CampaignDeps) {
  /** Stores the recipients' messages as pending outgoing messages (again, harmlessly, after a crash). */
  async function handOver(
    job: CampaignRow,
    recipients: Array<{ position: number; recipient: string; name: string | null; message_id: string }>,
  ) {
    const instance = await getInstance(db, job.instance_id);
    const stored = await Promise.all(
      recipients.map((r) => {
        const content = contentFor(job.template, { name: r.name, phone: phoneOf(r.recipient) });
        return insertOutgoing(
          db,
          outgoing(instance, {
            instanceId: job.instance_id,
            id: r.message_id,
            chatId: r.recipient,
            content,
            idempotencyKey: idempotencyKeyOf(job.id, r.position),
            source: 'bulk',
            typingMs: typingOf(job, content),
          }),
        );
      }),
    );
    if (stored.some((s) => s.created && !s.drainActive)) await wakeOutbox(job.instance_id);
  }

  /**
   * The messages a campaign handed over whose going out was not heard of yet: `settle` waits until one goes out
   * (or LOOK_MS passes: then the records are read), and a moment more.
   */
  function outstandingSends(instanceId: string) {
    const ids = new Set<string>();
    let heard: (() => void) | undefined;
    const unsubscribe = onStatus((instance, id, status) => {
      if (instance === instanceId && status !== 'pending' && ids.delete(id)) heard?.();
    });
    return {
      ids,
      async settle(): Promise<void> {
        const wentOut = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(false), LOOK_MS);
          heard = () => {
            clearTimeout(timer);
            resolve(true);
          };
        });
        heard = undefined;
        if (wentOut) await sleep(SETTLE_MS);
        // An announcement may be lost (the listener reconnecting): the records tell.
        else if (ids.size > 0) for (const id of await noLongerPending(db, instanceId, [...ids])) ids.delete(id);
      },
      close: unsubscribe,
    };
  }

  /**
   * At a round's start: the recipients handed over before a crash, perhaps never stored, are stored (the
   * outbox keeps one of each). Returns when the next recipient may go: a round that starts after a pause, a
   * worker's restart or the previous round keeps the gap after the last message that went out (it started at
   * 0: a resumed campaign sent its next one at once).
   */
  async function recoverRound(job: CampaignRow, outstanding: Set<string>): Promise<number> {
    const before = await inOutbox(db, job.id);
    // Listed before they are stored: the drain may announce one before handOver returns.
    for (const r of before) outstanding.add(r.message_id);
    if (before.length > 0) await handOver(job, before);
    const last = await lastSentAt(db, job.id);
    return last && isDelayed(job) ? last.getTime() + delayMs(job) : 0;
  }

  /** Hands the next recipients (not opted out, claimed by this round) over to the outbox; how many went. */
  async function handOverNext(
    job: CampaignRow,
    next: Array<{ position: number; recipient: string; name: string | null }>,
    outstanding: Set<string>,
  ) {
    const skipped = await skipOptedOut(
      db,
      job.instance_id,
      job.id,
      next.map((r) => r.position),
    );
    const wanted = next.filter((r) => !skipped.has(r.position));
    const claimed = await claimRecipients(
      db,
      job.id,
      wanted.map((r) => ({ position: r.position, messageId: newMessageId() })),
    );
    const toSend = wanted.filter((r) => claimed.has(r.position)).map((r) => ({ ...r, message_id: claimed.get(r.position)! }));
    if (toSend.length === 0) return 0;
    for (const r of toSend) outstanding.add(r.message_id);
    await handOver(job, toSend);
    return toSend.length;
  }

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

/** Whether the campaign waits between its messages. */
const isDelayed = (job: CampaignRow) => job.delay_seconds > 0 || (job.delay_max_seconds ?? 0) > 0;

/** The typing shown before a recipient's message: the job's fixed time, or one that follows the text's length. */
function typingOf(job: CampaignRow, content: StoredContent): number | undefined {
  if (job.typing_auto) return typingMsFor(bodyOf(content));
  return job.typing_ms ?? undefined;
}

/** A gap between two sends: `delay`, or drawn at random between `delay` and `delayMax`. */
function delayMs(job: CampaignRow): number {
  const min = job.delay_seconds * 1_000;
  const max = Math.max(min, (job.delay_max_seconds ?? job.delay_seconds) * 1_000);
  return min + Math.random() * (max - min);
}

export type CampaignActivities = ReturnType<typeof createCampaignActivities>;
