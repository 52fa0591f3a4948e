import {
  condition,
  continueAsNew,
  defineSignal,
  proxyActivities,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { DeliveryResult, WebhookActivities } from '../activities/webhooks.js';
import { WEBHOOK_STATE } from './names.js';

export interface WebhooksInput {
  instanceId: string;
  /** Task queue of the drains (general workers). */
  deliveryQueue: string;
  /** Carried across continue-as-new: the receiver's failures in a row, and when to probe it next. */
  failures?: number;
  retryAt?: number;
  failingSince?: number;
  lastError?: string;
}

/**
 * Events may be waiting: some were recorded (`{}`), or the user wants an
 * attempt now (`{ now: true }`: a retry or a test from the API, or changed
 * settings), which also cuts a failing receiver's wait short.
 */
export const wakeWebhooksSignal = defineSignal<[{ now?: boolean; at?: number }?]>('wake');

type Phase = 'delivering' | 'failing' | 'waiting' | 'paused' | 'idle';

const MAX_ROUNDS = 500;

/**
 * An instance's webhook delivery, readable in the Temporal UI: search
 * attribute `WebhookState` says whether it is delivering, failing, waiting or
 * paused; the memo says since when the receiver fails, its last error and the
 * next probe; a failing receiver's wait is a durable timer. The events live
 * in Postgres; each round runs a drain (activities/webhooks.ts) on a general
 * worker. It ends when idle; the next event's signal starts it again.
 */
export async function webhooksWorkflow(input: WebhooksInput): Promise<void> {
  const { deliverWebhooks } = proxyActivities<WebhookActivities>({
    taskQueue: input.deliveryQueue,
    startToCloseTimeout: '1 hour',
    // A drain whose worker died is run again elsewhere within this; its events are still pending.
    heartbeatTimeout: '15 s',
    retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '30 s' },
  });

  let woken = true;
  // When the user last asked for an attempt now, and when a drain last started (or a receiver last failed):
  // a request is served by the first drain that starts after it, and cuts short only a wait that began before it.
  let askedAt = 0;
  let servedAt = 0;
  let failedAt = 0;
  setHandler(wakeWebhooksSignal, (options) => {
    woken = true;
    if (options?.now) askedAt = Math.max(askedAt, options.at ?? Date.now());
  });
  const asked = () => askedAt > servedAt;

  let failures = input.failures ?? 0;
  let retryAt = input.retryAt ?? 0;
  let failingSince = input.failingSince;
  let lastError = input.lastError;
  let phase: Phase | undefined;
  let shown: Phase | undefined;
  const show = (next: Phase) => {
    phase = next;
    // Waiting for an event's own retry time while the receiver has not answered yet is still failing.
    const state = next === 'waiting' && failures > 0 ? 'failing' : next;
    if (state !== shown) upsertSearchAttributes([{ key: WEBHOOK_STATE, value: state }]);
    shown = state;
    upsertMemo({
      failingSince: failingSince ? new Date(failingSince).toISOString() : null,
      nextAttemptAt: next === 'failing' || next === 'waiting' ? new Date(retryAt).toISOString() : null,
      failures,
      lastError: lastError ?? null,
    });
  };
  if (failures > 0) show('failing');

  for (let round = 0; round < MAX_ROUNDS && !workflowInfo().continueAsNewSuggested; round++) {
    if (phase === 'failing') {
      const at = new Date(retryAt).toISOString();
      await condition(() => askedAt > failedAt, Math.max(0, retryAt - Date.now()), {
        summary: `receiver failing since ${new Date(failingSince!).toISOString()}; next probe at ${at}`,
      });
    } else if (phase === 'waiting') {
      await condition(() => woken || asked(), Math.max(0, retryAt - Date.now()), {
        summary: `next attempt at ${new Date(retryAt).toISOString()}`,
      });
    } else if (!woken && !asked()) {
      // Idle or paused: nothing to do until an event or the user wakes us; end after a while.
      if (
        !(await condition(() => woken || asked(), '10 minutes', {
          summary: phase === 'paused' ? 'webhook switched off' : 'waiting for events',
        }))
      )
        return;
    }
    const now = asked();
    servedAt = Math.max(servedAt, Date.now(), askedAt);
    woken = false;
    if (failures === 0 && phase !== 'delivering') show('delivering');

    const result: DeliveryResult = await deliverWebhooks({ instanceId: input.instanceId, failures, now });
    if (result.delivered > 0 || result.state === 'idle') {
      // The receiver answered: its failures are over.
      failures = 0;
      failingSince = undefined;
      lastError = undefined;
    }
    switch (result.state) {
      case 'failing':
        failures++;
        retryAt = result.retryAt;
        failingSince = result.failingSince;
        lastError = result.error;
        failedAt = result.failedAt;
        show('failing');
        break;
      case 'waiting':
        retryAt = result.retryAt;
        show('waiting');
        break;
      case 'paused':
        lastError = result.reason;
        show('paused');
        break;
      case 'more':
        woken = true;
        break;
      case 'idle':
        show('idle');
        break;
    }
  }
  return continueAsNew<typeof webhooksWorkflow>({ ...input, failures, retryAt, failingSince, lastError });
}
