/**
 * `.../bulk`: campaigns, one message to many recipients, run by a durable
 * workflow each (workflows/campaign.ts) through the instance's outbox.
 */
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import { z } from 'zod';
import type { Config } from '../config/index.js';
import type { Db } from '../db/knex.js';
import {
  cancelCampaign,
  countsOf,
  createCampaign,
  deleteCampaign,
  getCampaign,
  keepPaused,
  listCampaigns,
  listRecipients,
  moveCampaign,
  RECIPIENT_STATUSES,
  type CampaignRow,
  type Counts,
  type RecipientRow,
} from '../db/campaigns.js';
import { campaignChanged, startCampaign } from '../temporal/starts.js';
import { Conflict, NotFound } from '../lib/errors.js';
import type { Logger } from '../lib/logger.js';
import type { MediaStore } from '../media/store.js';
import type { TaskQueues } from '../workflows/names.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { isoTime, jid, requireContent, templateFields, typingMs } from './schemas.js';
import { messageTemplate } from './send.js';

export interface BulkDeps {
  config: Config;
  db: Db;
  temporal: Client;
  queues: TaskQueues;
  media: MediaStore;
  logger: Logger;
}

export const MAX_RECIPIENTS = 100_000;
const MAX_DELAY_SECONDS = 3_600;

const seconds = (field: string) =>
  z.coerce
    .number({ error: `${field} must be a number of seconds` })
    .min(0, `${field} must be between 0 and ${MAX_DELAY_SECONDS} seconds`)
    .max(MAX_DELAY_SECONDS, `${field} must be between 0 and ${MAX_DELAY_SECONDS} seconds`);

const createBody = z
  .object({
    recipients: z
      .array(z.object({ id: jid(), name: z.string().max(256).optional() }), { error: 'recipients must be a list of { "id", "name"? }' })
      .min(1, 'recipients must not be empty')
      .max(MAX_RECIPIENTS, `recipients may hold at most ${MAX_RECIPIENTS.toLocaleString('en')} entries`),
    ...templateFields,
    caption: z.string().max(4_096).optional(),
    delay: seconds('delay').default(3),
    delayMax: seconds('delayMax').optional(),
    // Typing before each message (domain/typing.ts): true follows the message's length, typingMs is fixed.
    typing: z.boolean({ error: 'typing must be true or false' }).optional(),
    typingMs: typingMs(),
    startAt: isoTime()
      .refine((d) => d.getTime() <= Date.now() + 366 * 86_400_000, 'must be at most a year ahead')
      .optional(),
  })
  .superRefine(requireContent)
  .refine((b) => b.delayMax === undefined || b.delayMax >= b.delay, {
    message: 'delayMax must not be less than delay',
    path: ['delayMax'],
  })
  .refine((b) => !(b.typing === true && b.typingMs !== undefined), {
    message: 'give either typing (true: from the message length) or typingMs, not both',
    path: ['typingMs'],
  });

const pageQuery = (limit: number) => ({
  limit: z.coerce.number({ error: 'must be a number' }).int().min(1).max(1_000).default(limit),
  page: z.coerce.number({ error: 'must be a number' }).int().min(1).max(1_000_000).default(1),
});
const listQuery = z.object(pageQuery(20));
const detailQuery = z.object({ ...pageQuery(100), status: z.enum(RECIPIENT_STATUSES as [string, ...string[]]).optional() });
const jobParams = z.object({ jobId: z.coerce.number({ error: 'must be a job id' }).int().min(1).max(2_147_483_647) });

const iso = (d: Date | null) => (d ? new Date(d).toISOString() : null);

function shown(job: CampaignRow, counts: Counts) {
  return {
    id: job.id,
    status: job.status,
    messageType: job.message_type,
    body: job.body,
    mediaUrl: job.media_url,
    caption: job.caption,
    filename: job.filename,
    delay: job.delay_seconds,
    delayMax: job.delay_max_seconds ?? job.delay_seconds,
    typing: job.typing_auto ? 'auto' : (job.typing_ms ?? 0),
    ...(job.status === 'paused' ? { pausedBy: job.paused_by ?? 'user' } : {}),
    total: job.total,
    counts,
    startAt: iso(job.start_at),
    startedAt: iso(job.started_at),
    finishedAt: iso(job.finished_at),
    createdAt: iso(job.created_at),
  };
}

const recipientShown = (r: RecipientRow) => ({
  position: r.position,
  id: r.recipient,
  name: r.name,
  status: r.status,
  messageId: r.message_id,
  messageStatus: r.message_status,
  error: r.error,
  updatedAt: iso(r.updated_at),
});

/** Stores a campaign with the message it sends and starts its workflow; without the workflow the campaign is not kept. */
async function createAndStart(deps: BulkDeps, instanceId: string, body: z.infer<typeof createBody>): Promise<CampaignRow> {
  const { db, temporal, queues } = deps;
  const template = await messageTemplate(deps, instanceId, {
    messageType: body.messageType,
    text: body.messageType === 'text' ? body.body : (body.caption ?? body.body),
    filename: body.filename,
    mediaUrl: body.mediaUrl,
  });
  const job = await createCampaign(db, {
    instanceId,
    messageType: body.messageType,
    body: body.body,
    mediaUrl: body.mediaUrl,
    caption: body.caption,
    filename: body.filename,
    delaySeconds: body.delay,
    delayMaxSeconds: body.delayMax,
    typing: body.typing ? 'auto' : body.typingMs ? { ms: body.typingMs } : undefined,
    template,
    startAt: body.startAt,
    recipients: body.recipients.map((r) => ({ jid: r.id, name: r.name })),
  });
  try {
    await startCampaign(temporal, queues.general, instanceId, job.id, body.startAt);
  } catch (err) {
    // Without its workflow nothing would be sent: not accepted.
    await deleteCampaign(db, instanceId, job.id);
    throw err;
  }
  return job;
}

export function bulkRouter(deps: BulkDeps): Router {
  const { db, temporal, logger } = deps;
  const router = Router({ mergeParams: true });
  const found = async (instanceId: string, jobId: number) => {
    const job = await getCampaign(db, instanceId, jobId);
    if (!job) throw new NotFound(`bulk job ${jobId} not found`, 'JOB_NOT_FOUND');
    return job;
  };
  const tell = (instanceId: string, jobId: number) =>
    // The job row is the record: should the signal not arrive, the campaign sees the change within its next look.
    campaignChanged(temporal, instanceId, jobId).catch((err) =>
      logger.warn({ err, instanceId, jobId }, 'telling a campaign of a change failed'),
    );

  router.post(
    '/',
    route({ body: createBody }, async ({ body }, _req, res) => {
      const job = await createAndStart(deps, instanceOf(res).id, body);
      return { success: true, jobId: job.id };
    }),
  );

  router.get(
    '/',
    route({ query: listQuery }, async ({ query }, _req, res) => {
      const { rows, total } = await listCampaigns(db, instanceOf(res).id, query);
      const counts = await countsOf(
        db,
        rows.map((r) => r.id),
      );
      return { jobs: rows.map((job) => shown(job, counts.get(job.id)!)), total, page: query.page, limit: query.limit };
    }),
  );

  router.get(
    '/:jobId',
    route({ params: jobParams, query: detailQuery }, async ({ params, query }, _req, res) => {
      const job = await found(instanceOf(res).id, params.jobId);
      const [counts, recipients] = await Promise.all([
        countsOf(db, [job.id]),
        listRecipients(db, job, { status: query.status as RecipientRow['status'] | undefined, limit: query.limit, page: query.page }),
      ]);
      return {
        ...shown(job, counts.get(job.id)!),
        recipients: recipients.rows.map(recipientShown),
        recipientsTotal: recipients.total,
        page: query.page,
        limit: query.limit,
      };
    }),
  );

  router.post(
    '/:jobId/cancel',
    route({ params: jobParams }, async ({ params }, _req, res) => {
      const { id: instanceId } = instanceOf(res);
      const job = await found(instanceId, params.jobId);
      if (!(await cancelCampaign(db, instanceId, job.id)))
        throw new Conflict(`bulk job ${job.id} has already ended (${job.status})`, 'JOB_ENDED');
      await tell(instanceId, job.id);
      return { success: true };
    }),
  );

  router.post(
    '/:jobId/pause',
    route({ params: jobParams }, async ({ params }, _req, res) => {
      const { id: instanceId } = instanceOf(res);
      const job = await found(instanceId, params.jobId);
      // Paused by the gateway for a restriction: now the user's pause, which lifting the restriction leaves alone.
      if (await keepPaused(db, instanceId, job.id)) return { success: true };
      if (!(await moveCampaign(db, instanceId, job.id, ['scheduled', 'running'], 'paused')))
        throw new Conflict(`bulk job ${job.id} is ${job.status}: only a scheduled or running job can be paused`, 'JOB_NOT_RUNNING');
      await tell(instanceId, job.id);
      return { success: true };
    }),
  );

  router.post(
    '/:jobId/resume',
    route({ params: jobParams }, async ({ params }, _req, res) => {
      const { id: instanceId } = instanceOf(res);
      const job = await found(instanceId, params.jobId);
      // A job paused before its start time goes back to waiting for it.
      const to = job.start_at && job.start_at.getTime() > Date.now() ? 'scheduled' : 'running';
      if (!(await moveCampaign(db, instanceId, job.id, ['paused'], to)))
        throw new Conflict(`bulk job ${job.id} is ${job.status}, not paused`, 'JOB_NOT_PAUSED');
      await tell(instanceId, job.id);
      return { success: true };
    }),
  );

  return router;
}
