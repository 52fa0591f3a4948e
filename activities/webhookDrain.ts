/**
 * One drain of an instance's webhook events (see webhooks.ts): what it holds
 * (lanes of events, attempts in flight, how the receiver fares), and its steps:
 * claim a batch of pending events, launch the attempts that are due, record
 * each outcome, and, with nothing in flight, decide whether it goes on or ends
 * (failing and backing off, paused, out of time, waiting, or idle).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import { getSettings, updateSettings, type InstanceSettings } from '../db/settings.js';
import {
  expireEvents,
  markDelivering,
  markFailing,
  markRecovered,
  markStopped,
  pendingEvents,
  type AttemptRecord,
  type PendingEvent,
} from '../db/webhooks.js';
import { jitteredBackoffMs } from '../domain/webhookSchedule.js';
import { envelopeOf, type Envelope } from '../domain/events.js';
import { webhookAttempts, webhookLag } from '../lib/metrics.js';
import type { ArrivalWatch } from '../db/arrivals.js';
import { AttemptWriter } from './attemptWriter.js';
import type { AttemptResult } from './webhookSender.js';
import type { DeliverInput, DeliveryResult, WebhookDeps } from './webhooks.js';

/** Events read per query; more are read when the queue runs below half. */
const PAGE = 500;
const HEARTBEAT_EVERY_MS = 1_000;
const POLL_MS = 1_000;
/** Retryable failures in a row, after the receiver answered in this drain, that make it a failing receiver. */
const FAILURES_IN_A_ROW = 3;

export const deliverable = (s: InstanceSettings) => s.webhookEnabled && !!s.webhookUrl;

export const SWITCHED_OFF = 'the webhook is switched off or has no URL';

export const envelope = (instanceId: string, event: PendingEvent): Envelope => envelopeOf(instanceId, event);

/** An attempt's outcome for the metrics. */
function countAttempt(event: PendingEvent, result: AttemptResult): void {
  webhookAttempts.inc({ outcome: result.outcome === 'delivered' ? 'delivered' : result.outcome === 'retry' ? 'retry' : 'failed' });
  if (result.outcome === 'delivered') webhookLag.observe(Math.max(0, Date.now() - event.createdAt) / 1000);
}

export class WebhookDrain {
  private readonly instanceId: string;
  /** Failed probes in a row before this drain. */
  private readonly failures: number;
  private readonly now: boolean;
  private readonly maxMs: number;
  private readonly log: Logger;
  private readonly started = Date.now();
  private readonly watch: ArrivalWatch;
  // Events in hand: queued in a lane, in flight, or with an outcome not yet stored.
  private readonly held = new Set<string>();
  private readonly lanes = new Map<string, PendingEvent[]>();
  private readonly busyLanes = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly writer: AttemptWriter;
  private probing: boolean;
  private recovered: Promise<void> | undefined;
  private failure: { error: string; retryAfterMs?: number } | undefined;
  private gone: string | undefined;
  private paused = false;
  private delivered = 0;
  private answered = false;
  private failedInARow = 0;
  private lookAgain = true;
  private idleSince = Date.now();
  private lastBeat = 0;
  private activeUntil = 0;
  // One pending wait of each kind at a time, however often the loop comes round.
  private notice: Promise<void> | undefined;
  private tick: Promise<void> | undefined;

  constructor(
    private readonly deps: WebhookDeps,
    input: DeliverInput,
    private readonly ctx: Context,
    private settings: InstanceSettings,
    private readonly settingsWatch: ArrivalWatch,
  ) {
    const { instanceId, failures, now = false, maxMs = 10 * 60_000 } = input;
    this.instanceId = instanceId;
    this.failures = failures;
    this.now = now;
    this.maxMs = maxMs;
    this.log = deps.logger.child({ instanceId });
    this.watch = deps.arrivals.watch(instanceId);
    this.writer = new AttemptWriter(deps.db, (records) => {
      for (const r of records) if (r.status !== 'pending') this.held.delete(r.id);
    });
    this.probing = failures > 0;
  }

  /** Delivers until the receiver fails, the webhook is switched off, the drain's time is up, or nothing is left. */
  async run(): Promise<DeliveryResult> {
    for (;;) {
      this.heartbeat();
      this.writer.check();
      // Renewed as it nears its end, and set again after a last look found more.
      await this.keepActive();
      await this.followSettings();
      const stopping = this.ctx.cancellationSignal.aborted || Date.now() - this.started > this.maxMs;
      const wantsMore = this.goesOn(stopping) && this.queued() < PAGE / 2;
      if (wantsMore && (this.lookAgain || this.watch.notified())) await this.claimBatch();
      if (this.goesOn(stopping)) this.launch();

      if (this.inFlight.size > 0) {
        await Promise.race([...this.inFlight, wantsMore ? this.nextNotice() : this.nextTick()]);
        continue;
      }
      // Nothing in flight: decide whether this drain goes on.
      const ended = (await this.stopped(stopping)) ?? (await this.doneOrWait());
      if (ended) return ended;
    }
  }

  /** Whatever way the drain ended: its attempts settled and their outcomes stored, the delivering flag cleared. */
  async end(): Promise<void> {
    this.watch.close();
    this.settingsWatch.close();
    await Promise.allSettled([...this.inFlight]);
    await this.recovered?.catch(() => {});
    await this.writer.flush().catch((err) => this.log.error({ err }, 'recording webhook attempts failed'));
    if (this.activeUntil) await markStopped(this.deps.db, this.instanceId).catch(() => {});
  }

  private heartbeat(): void {
    if (Date.now() - this.lastBeat < HEARTBEAT_EVERY_MS) return;
    this.lastBeat = Date.now();
    this.ctx.heartbeat();
  }

  /** Marks the instance as being delivered to, for twice the idle time (renewed halfway). */
  private async keepActive(): Promise<void> {
    if (Date.now() < this.activeUntil - this.deps.idleMs) return;
    await markDelivering(this.deps.db, this.instanceId, this.deps.idleMs * 2);
    this.activeUntil = Date.now() + this.deps.idleMs * 2;
  }

  /** An attempt uses the URL and secret in force; switched off, the drain pauses. */
  private async followSettings(): Promise<void> {
    if (!this.settingsWatch.notified()) return;
    this.settingsWatch.clear();
    this.settings = await getSettings(this.deps.db, this.instanceId);
    if (!deliverable(this.settings)) this.paused = true;
  }

  /** Whether the drain launches attempts (and reads more events): no failure, no 410, not paused, not stopping. */
  private goesOn(stopping: boolean): boolean {
    return !this.failure && !this.gone && !this.paused && !stopping;
  }

  private queued(): number {
    let n = 0;
    for (const lane of this.lanes.values()) n += lane.length;
    return n;
  }

  /** Reads the next pending events, beyond those in hand, into their lanes. */
  private async claimBatch(): Promise<void> {
    const { db, retryWindowMs } = this.deps;
    this.lookAgain = false;
    // Every event committed before this query is in its answer; a later one NOTIFYs after it.
    this.watch.clear();
    // Events whose window ended while no drain ran (the sweep does it too, for instances without one).
    if (this.delivered === 0 && this.held.size === 0) await expireEvents(db, retryWindowMs, this.instanceId);
    const page = await pendingEvents(db, this.instanceId, PAGE, [...this.held]);
    for (const event of page) {
      if (this.now) event.notBefore = 0;
      this.held.add(event.id);
      const lane = this.lanes.get(event.lane);
      if (lane) lane.push(event);
      else this.lanes.set(event.lane, [event]);
    }
    if (page.length === PAGE) this.lookAgain = true;
  }

  /**
   * Starts the lanes' first events that are due, oldest first, up to the bound: one at a time until the
   * receiver answers (a drain's first attempt, and every probe of a failing receiver), so that a receiver
   * found down costs one attempt, not one per chat.
   */
  private launch(): void {
    const limit = this.probing || !this.answered ? 1 : this.deps.concurrency;
    if (this.inFlight.size >= limit) return;
    const now = Date.now();
    const heads: PendingEvent[] = [];
    for (const [name, lane] of this.lanes) if (!this.busyLanes.has(name)) heads.push(lane[0]!);
    // Oldest first; but a probe goes to the event tried least, so that one event the receiver keeps refusing
    // is not taken for a receiver that is down.
    heads.sort(limit === 1 ? (a, b) => a.attempts - b.attempts || a.seq - b.seq : (a, b) => a.seq - b.seq);
    for (const head of heads) {
      if (this.inFlight.size >= limit) break;
      if (head.createdAt + this.deps.retryWindowMs < now) {
        // Its window ended: it fails without another attempt, and its lane moves on.
        this.finish({ id: head.id, status: 'failed', at: null, statusCode: null, durationMs: null, error: 'retry window ended' }, head);
        continue;
      }
      if (head.notBefore <= now) this.start(head);
    }
  }

  private start(event: PendingEvent): void {
    this.busyLanes.add(event.lane);
    const attempt: Promise<void> = this.deps.sender
      .attempt(this.settings.webhookUrl!, this.settings.webhookSecret, envelope(this.instanceId, event))
      .then((result) => this.onResult(event, result))
      .finally(() => {
        this.busyLanes.delete(event.lane);
        this.inFlight.delete(attempt);
      });
    this.inFlight.add(attempt);
  }

  /** Records an attempt's outcome; a retry, or a 410, also tells how the receiver fares. */
  private onResult(event: PendingEvent, result: AttemptResult): void {
    countAttempt(event, result);
    const record = { id: event.id, at: result.at, statusCode: result.statusCode, durationMs: result.durationMs, error: result.error };
    // A receiver that answers, even with a refusal of this one event, is up.
    if (result.outcome === 'delivered' || result.outcome === 'rejected') this.receiverAnswered();
    switch (result.outcome) {
      case 'delivered':
        this.delivered++;
        this.idleSince = Date.now();
        return this.finish({ ...record, status: 'delivered' }, event);
      case 'rejected':
        return this.finish({ ...record, status: 'failed' }, event);
      case 'gone':
        this.gone = `the receiver answered 410 Gone: the webhook was switched off`;
        return this.finish({ ...record, status: 'failed', error: `${result.error}; ${this.gone}` }, event);
      case 'retry':
        return this.retryLater(event, result, record);
    }
  }

  private receiverAnswered(): void {
    this.answered = true;
    this.failedInARow = 0;
    if (this.probing) {
      this.probing = false;
      this.recovered = markRecovered(this.deps.db, this.instanceId);
      this.log.info('webhook receiver answers again; delivering at full speed');
    }
  }

  /** The event stays first in its lane, pending until its backoff (or the receiver's Retry-After) is over. */
  private retryLater(event: PendingEvent, result: AttemptResult, record: Omit<AttemptRecord, 'status'>): void {
    event.attempts++;
    const pause = Math.max(jitteredBackoffMs(event.attempts, this.deps.backoffBaseMs), result.retryAfterMs ?? 0);
    event.notBefore = Date.now() + pause;
    // The receiver fails when nothing it was sent this time got an answer, or several events in a row
    // failed. One event it keeps refusing while it accepts the others only waits on its own schedule.
    if (!this.answered || ++this.failedInARow >= FAILURES_IN_A_ROW)
      this.failure ??= { error: result.error ?? 'failed', retryAfterMs: result.retryAfterMs };
    this.writer.add({ ...record, status: 'pending', nextAttemptAt: event.notBefore });
  }

  /** The event's outcome is final: its lane moves on, and the outcome is stored. */
  private finish(record: AttemptRecord, event: PendingEvent): void {
    const lane = this.lanes.get(event.lane)!;
    lane.shift();
    if (lane.length === 0) this.lanes.delete(event.lane);
    this.writer.add(record);
  }

  /** When the first lane's first event may be tried, if every one must wait. */
  private nextDue(): number {
    let soonest = Infinity;
    for (const lane of this.lanes.values()) soonest = Math.min(soonest, lane[0]!.notBefore);
    return soonest;
  }

  private nextNotice(): Promise<void> {
    return (this.notice ??= this.watch.next(POLL_MS).then(() => void (this.notice = undefined)));
  }

  private nextTick(): Promise<void> {
    return (this.tick ??= sleep(POLL_MS).then(() => void (this.tick = undefined)));
  }

  /** With nothing in flight, how the drain ends if it must: the receiver fails, a 410, switched off, its time up. */
  private async stopped(stopping: boolean): Promise<DeliveryResult | undefined> {
    if (this.failure) return this.backOff(this.failure);
    if (this.gone) {
      await this.writer.flush();
      await updateSettings(this.deps.db, this.instanceId, { webhookEnabled: false });
      this.log.warn({ url: this.settings.webhookUrl }, this.gone);
      return { state: 'paused', delivered: this.delivered, reason: this.gone };
    }
    if (this.paused) {
      await this.writer.flush();
      return { state: 'paused', delivered: this.delivered, reason: SWITCHED_OFF };
    }
    if (stopping) {
      await this.writer.flush();
      return { state: 'more', delivered: this.delivered };
    }
    return undefined;
  }

  /** The receiver fails: the workflow waits out a backoff that grows with the failed probes in a row, then probes. */
  private async backOff(failure: { error: string; retryAfterMs?: number }): Promise<DeliveryResult> {
    await this.writer.flush();
    const failures = this.failures + 1;
    const retryAt = Date.now() + Math.max(jitteredBackoffMs(failures, this.deps.backoffBaseMs), failure.retryAfterMs ?? 0);
    const failingSince = await markFailing(this.deps.db, this.instanceId, retryAt, failure.error);
    this.log.warn({ error: failure.error, failures, retryAt: new Date(retryAt).toISOString() }, 'webhook receiver failing');
    return { state: 'failing', delivered: this.delivered, retryAt, failingSince, error: failure.error, failedAt: Date.now() };
  }

  /**
   * Nothing in flight and the drain goes on: go round again if an event is due; end waiting (only events
   * not yet due) or idle (none for the idle time) after a last look; otherwise wait for new events.
   * Undefined: go round again.
   */
  private async doneOrWait(): Promise<DeliveryResult | undefined> {
    if (this.queued() > 0 && this.nextDue() <= Date.now()) return undefined;
    const waitingOnly = this.queued() > 0;
    if (waitingOnly || Date.now() - this.idleSince >= this.deps.idleMs) return this.lastLook(waitingOnly);
    await this.watch.next(Math.min(POLL_MS, this.deps.idleMs - (Date.now() - this.idleSince)));
    // Woken or not, look again: the timeout is the fallback should a NOTIFY be lost.
    this.lookAgain = true;
    return undefined;
  }

  /** Clears the delivering flag and ends, unless a last look finds an event due (undefined: go on). */
  private async lastLook(waitingOnly: boolean): Promise<DeliveryResult | undefined> {
    const { db } = this.deps;
    // Outcomes are stored before the last look, which would otherwise find them pending.
    await this.writer.flush();
    await markStopped(db, this.instanceId);
    this.activeUntil = 0;
    // One last look after clearing the flag: an event committed before it is ours to deliver.
    if ((await pendingEvents(db, this.instanceId, 1, [...this.held])).some((e) => e.notBefore <= Date.now())) {
      this.lookAgain = true;
      this.idleSince = Date.now();
      return undefined;
    }
    if (waitingOnly) return { state: 'waiting', delivered: this.delivered, retryAt: this.nextDue() };
    // Nothing left to deliver: whatever the receiver did before is over.
    if (this.probing) await markRecovered(db, this.instanceId);
    return { state: 'idle', delivered: this.delivered };
  }
}
