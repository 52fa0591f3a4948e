/**
 * The steps of a campaign's round (runCampaign in activities/campaigns.ts):
 * the sends it waits for, its recovery after a crash or a pause, and handing
 * recipients over to the outbox.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { claimRecipients, idempotencyKeyOf, inOutbox, skipOptedOut, type CampaignRow, lastSentAt } from '../db/campaigns.js';
import { getInstance } from '../db/instances.js';
import { noLongerPending } from '../db/messages.js';
import { insertOutgoing, outgoing } from '../db/outgoing.js';
import { bodyOf, contentFor, newMessageId, type StoredContent } from '../domain/content.js';
import { typingMsFor } from '../domain/typing.js';
import { phoneOf } from '../domain/recipients.js';
import type { CampaignDeps } from './campaigns.js';

/** How often a waiting campaign looks at its job again (a pause or a cancel is seen within this). */
export const LOOK_MS = 1_000;
const SETTLE_MS = 20;

export function createCampaignRound({ db, wakeOutbox, onStatus }: Pick<CampaignDeps, 'db' | 'wakeOutbox' | 'onStatus'>) {
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

  return { outstandingSends, recoverRound, handOverNext };
}

/** Whether the campaign waits between its messages. */
export const isDelayed = (job: CampaignRow) => job.delay_seconds > 0 || (job.delay_max_seconds ?? 0) > 0;

/** The typing shown before a recipient's message: the job's fixed time, or one that follows the text's length. */
function typingOf(job: CampaignRow, content: StoredContent): number | undefined {
  if (job.typing_auto) return typingMsFor(bodyOf(content));
  return job.typing_ms ?? undefined;
}

/** A gap between two sends: `delay`, or drawn at random between `delay` and `delayMax`. */
export function delayMs(job: CampaignRow): number {
  const min = job.delay_seconds * 1_000;
  const max = Math.max(min, (job.delay_max_seconds ?? job.delay_seconds) * 1_000);
  return min + Math.random() * (max - min);
}
