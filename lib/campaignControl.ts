import type { Client } from '@temporalio/client';
import type { campaignWorkflow } from '../workflows/campaign.js';
import { BULK_JOB_ID, INSTANCE_ID, workflowIds } from './temporal.js';

const within = <T>(client: Client, run: () => Promise<T>) => client.connection.withDeadline(Date.now() + 5_000, run);

/** Starts the workflow that runs campaign `jobId`. */
export async function startCampaign(client: Client, taskQueue: string, instanceId: string, jobId: number, startAt?: Date): Promise<void> {
  await within(client, () =>
    client.workflow.start<typeof campaignWorkflow>('campaignWorkflow', {
      taskQueue,
      workflowId: workflowIds.campaign(instanceId, jobId),
      args: [{ instanceId, jobId, startAt: startAt?.getTime() }],
      typedSearchAttributes: [
        { key: INSTANCE_ID, value: instanceId },
        { key: BULK_JOB_ID, value: jobId },
      ],
      memo: { state: startAt && startAt.getTime() > Date.now() ? 'scheduled' : 'running' },
    }),
  );
}

/** Tells the campaign's workflow that its job was paused, resumed or cancelled. */
export async function campaignChanged(client: Client, instanceId: string, jobId: number): Promise<void> {
  await within(client, () => client.workflow.getHandle(workflowIds.campaign(instanceId, jobId)).signal('changed'));
}
