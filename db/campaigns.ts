/**
 * Bulk campaigns: a job and its recipients. A recipient is `pending` until its
 * message leaves the outbox (a trigger then marks it `sent` or `failed`,
 * migration 012); `message_id` is set once, when the campaign hands it to the
 * outbox. `cancelled` and `skipped` (opted out) recipients get nothing.
 */
import type { Knex } from 'knex';
import type { Db } from './knex.js';
import { recordEvent } from './events.js';
import type { MessageTemplate } from '../domain/content.js';

export type CampaignStatus = 'scheduled' | 'running' | 'paused' | 'completed' | 'cancelled';
/** Who paused a paused job, when not a user: the gateway, while WhatsApp restricts the account. */
export type PausedBy = 'restriction';
export type RecipientStatus = 'pending' | 'sent' | 'failed' | 'cancelled' | 'skipped';
export const RECIPIENT_STATUSES: RecipientStatus[] = ['pending', 'sent', 'failed', 'cancelled', 'skipped'];

export interface CampaignRow {
  id: number;
  instance_id: string;
  message_type: MessageTemplate['messageType'];
  body: string | null;
  media_url: string | null;
  caption: string | null;
  filename: string | null;
  delay_seconds: number;
  delay_max_seconds: number | null;
  /** Typing shown before each message: a fixed time, or (typing_auto) one that follows its length (domain/typing.ts). */
  typing_ms: number | null;
  typing_auto: boolean;
  /** 'restriction' when the gateway paused it while WhatsApp restricted the account; null otherwise. */
  paused_by: PausedBy | null;
  template: MessageTemplate;
  status: CampaignStatus;
  total: number;
  start_at: Date | null;
  started_at: Date | null;
  created_at: Date;
  finished_at: Date | null;
}

export type Counts = Record<RecipientStatus, number>;

export const idempotencyKeyOf = (jobId: number, position: number) => `bulk ${jobId} ${position}`;

export interface NewCampaign {
  instanceId: string;
  messageType: MessageTemplate['messageType'];
  body?: string;
  mediaUrl?: string;
  caption?: string;
  filename?: string;
  delaySeconds: number;
  delayMaxSeconds?: number;
  typing?: { ms: number } | 'auto';
  template: MessageTemplate;
  startAt?: Date;
  recipients: Array<{ jid: string; name?: string }>;
}

const CHUNK = 10_000;

/** Stores the job and its recipients (in order: `position` 0, 1, ...) in one transaction. */
export async function createCampaign(db: Db, campaign: NewCampaign): Promise<CampaignRow> {
  return db.transaction(async (trx) => {
    const [job] = await trx<CampaignRow>('bulk_jobs')
      .insert({
        instance_id: campaign.instanceId,
        message_type: campaign.messageType,
        body: campaign.body ?? null,
        media_url: campaign.mediaUrl ?? null,
        caption: campaign.caption ?? null,
        filename: campaign.filename ?? null,
        delay_seconds: campaign.delaySeconds,
        delay_max_seconds: campaign.delayMaxSeconds ?? null,
        typing_ms: campaign.typing && campaign.typing !== 'auto' ? campaign.typing.ms : null,
        typing_auto: campaign.typing === 'auto',
        template: JSON.stringify(campaign.template) as unknown as MessageTemplate,
        status: campaign.startAt && campaign.startAt.getTime() > Date.now() ? 'scheduled' : 'running',
        total: campaign.recipients.length,
        start_at: campaign.startAt ?? null,
      })
      .returning('*');
    for (let from = 0; from < campaign.recipients.length; from += CHUNK) {
      const chunk = campaign.recipients.slice(from, from + CHUNK);
      await trx.raw(
        `insert into bulk_recipients (job_id, position, recipient, name)
         select ?, p, r, n from unnest(?::int[], ?::text[], ?::text[]) as t(p, r, n)`,
        [job!.id, chunk.map((_, i) => from + i), chunk.map((r) => r.jid), chunk.map((r) => r.name ?? null) as string[]],
      );
    }
    return job!;
  });
}

export async function deleteCampaign(db: Db, instanceId: string, jobId: number): Promise<void> {
  await db('bulk_jobs').where({ instance_id: instanceId, id: jobId }).delete();
}

export async function getCampaign(db: Db | Knex.Transaction, instanceId: string, jobId: number): Promise<CampaignRow | undefined> {
  return db<CampaignRow>('bulk_jobs').where({ instance_id: instanceId, id: jobId }).first();
}

/** When the job's last message went out (null before the first): a new round keeps the gap after it. */
export async function lastSentAt(db: Db, jobId: number): Promise<Date | null> {
  const row = await db('bulk_recipients').where({ job_id: jobId, status: 'sent' }).max<{ at: Date | null }>('updated_at as at').first();
  return row?.at ? new Date(row.at) : null;
}

/** Recipients per status, for each of these jobs. */
export async function countsOf(db: Db, jobIds: number[]): Promise<Map<number, Counts>> {
  const rows = await db('bulk_recipients')
    .whereIn('job_id', jobIds)
    .groupBy('job_id', 'status')
    .select('job_id', 'status', db.raw('count(*)::int as n'));
  const counts = new Map<number, Counts>(jobIds.map((id) => [id, Object.fromEntries(RECIPIENT_STATUSES.map((s) => [s, 0])) as Counts]));
  for (const row of rows as Array<{ job_id: number; status: RecipientStatus; n: number }>) counts.get(row.job_id)![row.status] = row.n;
  return counts;
}

export async function listCampaigns(
  db: Db,
  instanceId: string,
  page: { limit: number; page: number },
): Promise<{ rows: CampaignRow[]; total: number }> {
  const [rows, counted] = await Promise.all([
    db<CampaignRow>('bulk_jobs')
      .where({ instance_id: instanceId })
      .orderBy('id', 'desc')
      .limit(page.limit)
      .offset((page.page - 1) * page.limit),
    db('bulk_jobs').where({ instance_id: instanceId }).count<Array<{ count: string }>>({ count: '*' }),
  ]);
  return { rows, total: Number(counted[0]?.count ?? 0) };
}

export interface RecipientRow {
  position: number;
  recipient: string;
  name: string | null;
  status: RecipientStatus;
  message_id: string | null;
  message_status: string | null;
  error: string | null;
  updated_at: Date;
}

export async function listRecipients(
  db: Db,
  job: CampaignRow,
  filter: { status?: RecipientStatus; limit: number; page: number },
): Promise<{ rows: RecipientRow[]; total: number }> {
  const where = (q: Knex.QueryBuilder) => {
    q.where('r.job_id', job.id);
    if (filter.status) q.where('r.status', filter.status);
    return q;
  };
  const [rows, counted] = await Promise.all([
    where(db('bulk_recipients as r'))
      .leftJoin('messages as m', (j) => j.on('m.instance_id', db.raw('?', [job.instance_id])).andOn('m.id', 'r.message_id'))
      .orderBy('r.position')
      .limit(filter.limit)
      .offset((filter.page - 1) * filter.limit)
      .select('r.position', 'r.recipient', 'r.name', 'r.status', 'r.message_id', 'm.status as message_status', 'r.error', 'r.updated_at'),
    where(db('bulk_recipients as r')).count<Array<{ count: string }>>({ count: '*' }),
  ]);
  return { rows: rows as RecipientRow[], total: Number(counted[0]?.count ?? 0) };
}

/**
 * Moves the job from one of `from` to `to`; the job as it is now, or undefined when it was in none of them.
 * `pausedBy`: the gateway pauses it (a user's move, the default, clears that).
 */
export async function moveCampaign(
  db: Db | Knex.Transaction,
  instanceId: string,
  jobId: number,
  from: CampaignStatus[],
  to: CampaignStatus,
  pausedBy: PausedBy | null = null,
): Promise<CampaignRow | undefined> {
  const patch: Record<string, unknown> = { status: to, paused_by: to === 'paused' ? pausedBy : null };
  if (to === 'running') patch.started_at = db.raw('coalesce(started_at, now())');
  const [row] = await db<CampaignRow>('bulk_jobs')
    .where({ instance_id: instanceId, id: jobId })
    .whereIn('status', from)
    .update(patch)
    .returning('*');
  return row;
}

/**
 * Cancels the job: nothing more is sent. Recipients not sent yet are
 * `cancelled`, and their messages still waiting in the outbox fail with
 * "campaign cancelled". Undefined when the job had already ended.
 */
export async function cancelCampaign(db: Db, instanceId: string, jobId: number): Promise<CampaignRow | undefined> {
  return db.transaction(async (trx) => {
    const [job] = await trx<CampaignRow>('bulk_jobs')
      .where({ instance_id: instanceId, id: jobId })
      .whereIn('status', ['scheduled', 'running', 'paused'])
      .update({ status: 'cancelled', finished_at: trx.fn.now() })
      .returning('*');
    if (!job) return undefined;
    await trx('bulk_recipients').where({ job_id: jobId, status: 'pending' }).update({ status: 'cancelled', updated_at: trx.fn.now() });
    await trx('messages')
      .where({ instance_id: instanceId, status: 'pending' })
      .whereLike('idempotency_key', `bulk ${jobId} %`)
      .update({ status: 'failed', error: 'campaign cancelled', updated_at: trx.fn.now() });
    return job;
  });
}

/** The next recipients to hand to the outbox, in order. */
export async function nextRecipients(
  db: Db,
  jobId: number,
  limit: number,
): Promise<Array<{ position: number; recipient: string; name: string | null }>> {
  return db('bulk_recipients')
    .where({ job_id: jobId, status: 'pending' })
    .whereNull('message_id')
    .orderBy('position')
    .limit(limit)
    .select('position', 'recipient', 'name');
}

/** Recipients handed to the outbox whose message has not left it yet. */
export async function inOutbox(
  db: Db,
  jobId: number,
): Promise<Array<{ position: number; recipient: string; name: string | null; message_id: string }>> {
  return db('bulk_recipients')
    .where({ job_id: jobId, status: 'pending' })
    .whereNotNull('message_id')
    .orderBy('position')
    .select('position', 'recipient', 'name', 'message_id');
}

/** Of these recipients, the ones on the instance's opt-out list are `skipped`; returns their positions. */
export async function skipOptedOut(db: Db, instanceId: string, jobId: number, positions: number[]): Promise<Set<number>> {
  const rows = await db.raw(
    `update bulk_recipients r set status = 'skipped', error = 'opted out', updated_at = now()
      where r.job_id = ? and r.position = any(?::int[]) and r.status = 'pending'
        and exists (select 1 from instance_optouts o where o.instance_id = ? and o.jid = r.recipient)
      returning r.position`,
    [jobId, positions, instanceId],
  );
  return new Set(rows.rows.map((r: { position: number }) => r.position));
}

/**
 * Records the message id of each recipient, once: a recipient claimed before
 * (a retry after a crash) keeps its first id. Only pending recipients of a
 * running job are claimed; returns them with their ids.
 */
export async function claimRecipients(
  db: Db,
  jobId: number,
  claims: Array<{ position: number; messageId: string }>,
): Promise<Map<number, string>> {
  const rows = await db.raw(
    `update bulk_recipients r set message_id = coalesce(r.message_id, c.id), updated_at = now()
       from unnest(?::int[], ?::text[]) as c(position, id)
      where r.job_id = ? and r.position = c.position and r.status = 'pending'
        and exists (select 1 from bulk_jobs j where j.id = r.job_id and j.status = 'running')
      returning r.position, r.message_id`,
    [claims.map((c) => c.position), claims.map((c) => c.messageId), jobId],
  );
  return new Map(rows.rows.map((r: { position: number; message_id: string }) => [r.position, r.message_id]));
}

/** A user pauses a job the gateway paused (a restriction): lifting the restriction no longer resumes it. */
export async function keepPaused(db: Db, instanceId: string, jobId: number): Promise<boolean> {
  const changed = await db('bulk_jobs')
    .where({ instance_id: instanceId, id: jobId, status: 'paused', paused_by: 'restriction' })
    .update({ paused_by: null });
  return changed > 0;
}

/** The instance's running jobs, paused by the gateway (WhatsApp restricted the account); their ids. */
export async function pauseForRestriction(trx: Db | Knex.Transaction, instanceId: string): Promise<number[]> {
  const rows = await trx('bulk_jobs')
    .where({ instance_id: instanceId, status: 'running' })
    .update({ status: 'paused', paused_by: 'restriction' })
    .returning('id');
  return rows.map((r: { id: number }) => r.id);
}

/** The jobs the gateway paused for a restriction run again (or wait for their start time); their ids. */
export async function resumeAfterRestriction(trx: Db | Knex.Transaction, instanceId: string): Promise<number[]> {
  const rows = await trx('bulk_jobs')
    .where({ instance_id: instanceId, status: 'paused', paused_by: 'restriction' })
    .update({
      status: trx.raw(`case when start_at > now() then 'scheduled' else 'running' end`),
      started_at: trx.raw(`case when start_at > now() then started_at else coalesce(started_at, now()) end`),
      paused_by: null,
    })
    .returning('id');
  return rows.map((r: { id: number }) => r.id);
}

/** Marks the job completed with a `bulk_completed` webhook event; false when it was not running (paused or cancelled meanwhile). */
export async function completeCampaign(db: Db, instanceId: string, jobId: number): Promise<Counts | undefined> {
  return db.transaction(async (trx) => {
    const [job] = await trx('bulk_jobs')
      .where({ instance_id: instanceId, id: jobId, status: 'running' })
      .update({ status: 'completed', finished_at: trx.fn.now() })
      .returning('*');
    if (!job) return undefined;
    const counts = (await countsOf(trx as unknown as Db, [jobId])).get(jobId)!;
    await recordEvent(trx, instanceId, 'bulk_completed', { jobId, total: job.total, ...counts });
    return counts;
  });
}
