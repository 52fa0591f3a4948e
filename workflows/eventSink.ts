import { continueAsNew, proxyActivities } from '@temporalio/workflow';
import type { EventSinkActivities } from '../activities/eventSinks.js';

export interface EventSinkInput {
  /** `amqp` or `nats`. */
  sink: string;
  /** Task queue of the publishing activity (general workers). */
  queue: string;
}

const ROUNDS_PER_RUN = 100;

/**
 * A broker sink, `event-sink-{sink}` in the Temporal UI: it runs the sink's
 * publishing activity (activities/eventSinks.ts) round after round, for as
 * long as the workers have the sink configured. A broker that is down makes
 * the activity fail; Temporal runs it again on the retry schedule below,
 * visible in the workflow's pending activity (attempts, last failure).
 */
export async function eventSinkWorkflow(input: EventSinkInput): Promise<void> {
  const { publishEvents } = proxyActivities<EventSinkActivities>({
    taskQueue: input.queue,
    startToCloseTimeout: '1 hour',
    // A publisher whose worker died is run again elsewhere within this; its cursor is in Postgres.
    heartbeatTimeout: '30 s',
    retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '30 s' },
  });
  for (let round = 0; round < ROUNDS_PER_RUN; round++) {
    if ((await publishEvents(input.sink)) === 'unconfigured') return;
  }
  await continueAsNew<typeof eventSinkWorkflow>(input);
}
