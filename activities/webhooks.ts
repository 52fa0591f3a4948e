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
 *
 * The drain's state and steps are in webhookDrain.ts; outcomes are stored by
 * attemptWriter.ts.
 */
import { Context } from '@temporalio/activity';
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { getSettings } from '../db/settings.js';
import type { Arrivals } from '../db/arrivals.js';
import type { WebhookSender } from './webhookSender.js';
import { deliverable, SWITCHED_OFF, WebhookDrain } from './webhookDrain.js';

export { envelope } from './webhookDrain.js';

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

export function createWebhookActivities(deps: WebhookDeps) {
  const { db } = deps;

  return {
    async deliverWebhooks(input: DeliverInput): Promise<DeliveryResult> {
      const ctx = Context.current();
      const settingsWatch = deps.settingsChanges.watch(input.instanceId);
      const settings = await getSettings(db, input.instanceId);
      if (!deliverable(settings)) {
        settingsWatch.close();
        return { state: 'paused', delivered: 0, reason: SWITCHED_OFF };
      }
      const drain = new WebhookDrain(deps, input, ctx, settings, settingsWatch);
      try {
        return await drain.run();
      } finally {
        await drain.end();
      }
    },
  };
}

export type WebhookActivities = ReturnType<typeof createWebhookActivities>;
