/**
 * Webhook delivery: a drain per instance, run by the instance's webhooks
 * workflow (workflows/webhooks.ts) on any general worker. It POSTs the
 * instance's pending events in order within each lane (a chat, or the
 * instance's own events), lanes in parallel up to a bound, and keeps taking
 * new events as their NOTIFYs arrive. On the first attempt that should be
 * retried it stops launching and hands the wait to the workflow (a durable
 * timer); the next drain probes the receiver with one attempt at a time until
 * one succeeds, then goes back to full speed.
 *
 * Every outcome is written to the event's row; an event is pending until its
 * outcome is stored, so a crash at any point redelivers it with the same
 * `webhook-id`, never skips it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { getSettings, updateSettings, type InstanceSettings } from '../db/settings.js';
import {
  expireEvents,
  markDelivering,
  markFailing,
  markRecovered,
  markStopped,
  pendingEvents,
  recordAttempts,
  type AttemptRecord,
  type PendingEvent,
} from '../db/webhooks.js';
import { jitteredBackoffMs } from '../domain/webhookSchedule.js';
import type { Arrivals } from '../db/arrivals.js';
import type { AttemptResult, Envelope, WebhookSender } from './webhookSender.js';
import { webhookAttempts, webhookLag } from '../lib/metrics.js';

export interface WebhookDeps {
  db: Db;
  logger: Logger;
  /** NOTIFYs of new events, per instance (WEBHOOK_CHANNEL). */
  arrivals: Arrivals;
  /** NOTIFYs of settings changes, per instance (SETTINGS_CHANNEL): an attempt uses the URL and secret in force. */
  settingsChanges: Arrivals;
  sender: WebhookSender;
  /** How long an event is retried before it fails (WEBHOOK_RETRY_HOURS). */
  retryWindowMs: number;
  /** The first pause of the backoff schedule (domain/webhookSchedule.ts). */
  backoffBaseMs: number;
  /** Lanes delivered at once per instance. */
  concurrency: number;
  /** How long a drain waits for new events before it ends. */
  idleMs: number;
}

export interface DeliverInput {
  instanceId: string;
  /** Failed probes in a row so far: more than 0 means the receiver is failing, so the drain probes first. */
  failures: number;
  /** Attempt every pending event now, whatever its own schedule says (the user asked: a retry, a test, new settings). */
  now?: boolean;
  /** How long one drain may run before the workflow starts the next. */
  maxMs?: number;
}

/** How a drain ended, for the workflow to decide what comes next. */
export type DeliveryResult = { delivered: number } & (
  | { state: 'idle' }
  /** It ran its time (or was cancelled) with work left. */
  | { state: 'more' }
  /** The webhook is switched off or has no URL (a 410 switches it off). */
  | { state: 'paused'; reason: string }
  /** The receiver answers, but the events left may not be tried before `retryAt`. */
  | { state: 'waiting'; retryAt: number }
  /** The receiver fails: probe it again at `retryAt`. */
  | { state: 'failing'; retryAt: number; failingSince: number; error: string; failedAt: number }
);

/** Events read per query; more are read when the queue runs below half. */
const PAGE = 500;
const HEARTBEAT_EVERY_MS = 1_000;
const POLL_MS = 1_000;
/** Retryable failures in a row, after the receiver answered in this drain, that make it a failing receiver. */
const FAILURES_IN_A_ROW = 3;

const deliverable = (s: InstanceSettings) => s.webhookEnabled && !!s.webhookUrl;

export function envelope(instanceId: string, event: PendingEvent): Envelope {
  return { event: event.event, data: event.data, timestamp: event.timestamp, instance_id: instanceId, id: event.id, seq: event.seq };
}

export function createWebhookActivities(deps: WebhookDeps) {
  const { db, logger } = deps;

  return {
    async deliverWebhooks({ instanceId, failures, now = false, maxMs = 10 * 60_000 }: DeliverInput): Promise<DeliveryResult> {
      const ctx = Context.current();
      const log = logger.child({ instanceId });
      const settingsWatch = deps.settingsChanges.watch(instanceId);
      let settings = await getSettings(db, instanceId);
      if (!deliverable(settings)) {
        settingsWatch.close();
        return { state: 'paused', delivered: 0, reason: 'the webhook is switched off or has no URL' };
      }

      const started = Date.now();
      const watch = deps.arrivals.watch(instanceId);
      // Events in hand: queued in a lane, in flight, or with an outcome not yet stored.
      const held = new Set<string>();
      const lanes = new Map<string, PendingEvent[]>();
      const busyLanes = new Set<string>();
      const inFlight = new Set<Promise<void>>();
      const writer = new AttemptWriter(db, (records) => {
        for (const r of records) if (r.status !== 'pending') held.delete(r.id);
      });
      let probing = failures > 0;
      let recovered: Promise<void> | undefined;
      let failure: { error: string; retryAfterMs?: number } | undefined;
      let gone: string | undefined;
      let paused = false;
      let delivered = 0;
      let answered = false;
      let failedInARow = 0;
      let lookAgain = true;
      let idleSince = Date.now();

      let lastBeat = 0;
      const heartbeat = () => {
        if (Date.now() - lastBeat < HEARTBEAT_EVERY_MS) return;
        lastBeat = Date.now();
        ctx.heartbeat();
      };
      let activeUntil = 0;
      const keepActive = async () => {
        if (Date.now() < activeUntil - deps.idleMs) return;
        await markDelivering(db, instanceId, deps.idleMs * 2);
        activeUntil = Date.now() + deps.idleMs * 2;
      };
      const queued = () => {
        let n = 0;
        for (const lane of lanes.values()) n += lane.length;
        return n;
      };

      const finish = (record: AttemptRecord, event: PendingEvent) => {
        const lane = lanes.get(event.lane)!;
        lane.shift();
        if (lane.length === 0) lanes.delete(event.lane);
        writer.add(record);
      };

      const onResult = (event: PendingEvent, result: AttemptResult) => {
        webhookAttempts.inc({ outcome: result.outcome === 'delivered' ? 'delivered' : result.outcome === 'retry' ? 'retry' : 'failed' });
        if (result.outcome === 'delivered') webhookLag.observe(Math.max(0, Date.now() - event.createdAt) / 1000);
        const record = { id: event.id, at: result.at, statusCode: result.statusCode, durationMs: result.durationMs, error: result.error };
        // A receiver that answers, even with a refusal of this one event, is up.
        if (result.outcome === 'delivered' || result.outcome === 'rejected') {
          answered = true;
          failedInARow = 0;
          if (probing) {
            probing = false;
            recovered = markRecovered(db, instanceId);
            log.info('webhook receiver answers again; delivering at full speed');
          }
        }
        switch (result.outcome) {
          case 'delivered':
            delivered++;
            idleSince = Date.now();
            return finish({ ...record, status: 'delivered' }, event);
          case 'rejected':
            return finish({ ...record, status: 'failed' }, event);
          case 'gone':
            gone = `the receiver answered 410 Gone: the webhook was switched off`;
            return finish({ ...record, status: 'failed', error: `${result.error}; ${gone}` }, event);
          case 'retry': {
            event.attempts++;
            const pause = Math.max(jitteredBackoffMs(event.attempts, deps.backoffBaseMs), result.retryAfterMs ?? 0);
            event.notBefore = Date.now() + pause;
            // The receiver fails when nothing it was sent this time got an answer, or several events in a row
            // failed. One event it keeps refusing while it accepts the others only waits on its own schedule.
            if (!answered || ++failedInARow >= FAILURES_IN_A_ROW)
              failure ??= { error: result.error ?? 'failed', retryAfterMs: result.retryAfterMs };
            writer.add({ ...record, status: 'pending', nextAttemptAt: event.notBefore });
          }
        }
      };

      const start = (event: PendingEvent) => {
        busyLanes.add(event.lane);
        const attempt: Promise<void> = deps.sender
          .attempt(settings.webhookUrl!, settings.webhookSecret, envelope(instanceId, event))
          .then((result) => onResult(event, result))
          .finally(() => {
            busyLanes.delete(event.lane);
            inFlight.delete(attempt);
          });
        inFlight.add(attempt);
      };

      /**
       * Starts the lanes' first events that are due, oldest first, up to the bound: one at a time until the
       * receiver answers (a drain's first attempt, and every probe of a failing receiver), so that a receiver
       * found down costs one attempt, not one per chat.
       */
      const launch = () => {
        const limit = probing || !answered ? 1 : deps.concurrency;
        if (inFlight.size >= limit) return;
        const now = Date.now();
        const heads: PendingEvent[] = [];
        for (const [name, lane] of lanes) if (!busyLanes.has(name)) heads.push(lane[0]!);
        // Oldest first; but a probe goes to the event tried least, so that one event the receiver keeps refusing
        // is not taken for a receiver that is down.
        heads.sort(limit === 1 ? (a, b) => a.attempts - b.attempts || a.seq - b.seq : (a, b) => a.seq - b.seq);
        for (const head of heads) {
          if (inFlight.size >= limit) break;
          if (head.createdAt + deps.retryWindowMs < now) {
            // Its window ended: it fails without another attempt, and its lane moves on.
            finish({ id: head.id, status: 'failed', at: null, statusCode: null, durationMs: null, error: 'retry window ended' }, head);
            continue;
          }
          if (head.notBefore <= now) start(head);
        }
      };

      /** When the first lane's first event may be tried, if every one must wait. */
      const nextDue = () => {
        let soonest = Infinity;
        for (const lane of lanes.values()) soonest = Math.min(soonest, lane[0]!.notBefore);
        return soonest;
      };

      // One pending wait of each kind at a time, however often the loop comes round.
      let notice: Promise<void> | undefined;
      const nextNotice = () => (notice ??= watch.next(POLL_MS).then(() => void (notice = undefined)));
      let tick: Promise<void> | undefined;
      const nextTick = () => (tick ??= sleep(POLL_MS).then(() => void (tick = undefined)));

      try {
        for (;;) {
          heartbeat();
          writer.check();
          // Renewed as it nears its end, and set again after a last look found more.
          await keepActive();
          if (settingsWatch.notified()) {
            settingsWatch.clear();
            settings = await getSettings(db, instanceId);
            if (!deliverable(settings)) paused = true;
          }
          const stopping = ctx.cancellationSignal.aborted || Date.now() - started > maxMs;
          const wantsMore = !failure && !gone && !paused && !stopping && queued() < PAGE / 2;
          if (wantsMore && (lookAgain || watch.notified())) {
            lookAgain = false;
            // Every event committed before this query is in its answer; a later one NOTIFYs after it.
            watch.clear();
            // Events whose window ended while no drain ran (the sweep does it too, for instances without one).
            if (delivered === 0 && held.size === 0) await expireEvents(db, deps.retryWindowMs, instanceId);
            const page = await pendingEvents(db, instanceId, PAGE, [...held]);
            for (const event of page) {
              if (now) event.notBefore = 0;
              held.add(event.id);
              const lane = lanes.get(event.lane);
              if (lane) lane.push(event);
              else lanes.set(event.lane, [event]);
            }
            if (page.length === PAGE) lookAgain = true;
          }
          if (!failure && !gone && !paused && !stopping) launch();

          if (inFlight.size > 0) {
            await Promise.race([...inFlight, wantsMore ? nextNotice() : nextTick()]);
            continue;
          }
          // Nothing in flight: decide whether this drain goes on.
          if (failure) {
            await writer.flush();
            const retryAt = Date.now() + Math.max(jitteredBackoffMs(failures + 1, deps.backoffBaseMs), failure.retryAfterMs ?? 0);
            const failingSince = await markFailing(db, instanceId, retryAt, failure.error);
            log.warn(
              { error: failure.error, failures: failures + 1, retryAt: new Date(retryAt).toISOString() },
              'webhook receiver failing',
            );
            return { state: 'failing', delivered, retryAt, failingSince, error: failure.error, failedAt: Date.now() };
          }
          if (gone) {
            await writer.flush();
            await updateSettings(db, instanceId, { webhookEnabled: false });
            log.warn({ url: settings.webhookUrl }, gone);
            return { state: 'paused', delivered, reason: gone };
          }
          if (paused) {
            await writer.flush();
            return { state: 'paused', delivered, reason: 'the webhook is switched off or has no URL' };
          }
          if (stopping) {
            await writer.flush();
            return { state: 'more', delivered };
          }
          if (queued() > 0 && nextDue() <= Date.now()) continue;
          const waitingOnly = queued() > 0;
          if (waitingOnly || Date.now() - idleSince >= deps.idleMs) {
            // Outcomes are stored before the last look, which would otherwise find them pending.
            await writer.flush();
            await markStopped(db, instanceId);
            activeUntil = 0;
            // One last look after clearing the flag: an event committed before it is ours to deliver.
            if ((await pendingEvents(db, instanceId, 1, [...held])).some((e) => e.notBefore <= Date.now())) {
              lookAgain = true;
              idleSince = Date.now();
              continue;
            }
            if (waitingOnly) return { state: 'waiting', delivered, retryAt: nextDue() };
            // Nothing left to deliver: whatever the receiver did before is over.
            if (probing) await markRecovered(db, instanceId);
            return { state: 'idle', delivered };
          }
          await watch.next(Math.min(POLL_MS, deps.idleMs - (Date.now() - idleSince)));
          // Woken or not, look again: the timeout is the fallback should a NOTIFY be lost.
          lookAgain = true;
        }
      } finally {
        watch.close();
        settingsWatch.close();
        await Promise.allSettled([...inFlight]);
        await recovered?.catch(() => {});
        await writer.flush().catch((err) => log.error({ err }, 'recording webhook attempts failed'));
        if (activeUntil) await markStopped(db, instanceId).catch(() => {});
      }
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;

/**
 * Stores attempt outcomes in batches, one write at a time, without holding up
 * the next attempts. `recorded` runs after each stored batch.
 */
class AttemptWriter {
  private queue: AttemptRecord[] = [];
  private writing: Promise<void> | undefined;
  private failure: unknown;

  constructor(
    private readonly db: Db,
    private readonly recorded: (records: AttemptRecord[]) => void,
  ) {}

  add(record: AttemptRecord): void {
    this.queue.push(record);
    this.writing ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.queue.length > 0 && !this.failure) {
        const batch = this.queue.splice(0, 1_000);
        try {
          await recordAttempts(this.db, batch);
          this.recorded(batch);
        } catch (err) {
          this.failure = err;
        }
      }
    } finally {
      this.writing = undefined;
    }
  }

  /** Throws if a write failed: the drain ends, its events stay pending and are delivered again. */
  check(): void {
    if (this.failure) throw this.failure;
  }

  async flush(): Promise<void> {
    while (this.writing) await this.writing;
    this.check();
  }
}
