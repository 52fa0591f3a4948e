import { condition, continueAsNew, defineSignal, proxyActivities, setHandler, upsertMemo } from '@temporalio/workflow';
import type { CampaignActivities, CampaignRun } from '../activities/campaigns.js';

export interface CampaignInput {
  instanceId: string;
  jobId: number;
  /** When it starts (ms since the epoch), for a campaign started later. */
  startAt?: number;
}

/** The job was paused, resumed or cancelled through the API: look at it again now. */
export const campaignChangedSignal = defineSignal('changed');

const MAX_ROUNDS = 200;

/**
 * A bulk campaign, `bulk-{instance}-{jobId}`: waits for its start time on a
 * durable timer, then runs (activities/campaigns.ts) in rounds of up to ten
 * minutes until every recipient is done; a paused campaign waits for its
 * resume. The job and its recipients live in Postgres, so each round starts
 * where the last one stopped, and the history stays small whatever the
 * number of recipients. The memo says how far it got.
 */
export async function campaignWorkflow(input: CampaignInput): Promise<string> {
  const { runCampaign } = proxyActivities<CampaignActivities>({
    startToCloseTimeout: '1 hour',
    heartbeatTimeout: '30 s',
    retry: { initialInterval: '1 s', backoffCoefficient: 2, maximumInterval: '30 s' },
  });
  let changed = false;
  setHandler(campaignChangedSignal, () => void (changed = true));

  let startAt = input.startAt ?? 0;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    if (startAt > Date.now()) {
      upsertMemo({ state: 'scheduled', startAt: new Date(startAt).toISOString() });
      await condition(() => changed, startAt - Date.now(), { summary: `starts at ${new Date(startAt).toISOString()}` });
    }
    changed = false;
    const run: CampaignRun = await runCampaign({ instanceId: input.instanceId, jobId: input.jobId });
    switch (run.state) {
      case 'completed':
        upsertMemo({ state: 'completed', ...run.counts });
        return 'completed';
      case 'cancelled':
        upsertMemo({ state: 'cancelled' });
        return 'cancelled';
      case 'scheduled':
        startAt = run.startAt;
        break;
      case 'paused':
        upsertMemo({ state: 'paused' });
        // Until resumed (or cancelled); a lost signal is caught within the hour.
        await condition(() => changed, '1 hour', { summary: 'paused' });
        break;
      case 'more':
        upsertMemo({ state: 'running', rounds: round + 1, ...run.counts });
        break;
    }
  }
  return continueAsNew<typeof campaignWorkflow>({ ...input, startAt: 0 });
}
