/**
 * Scheduled messages. A message is `pending` until its time; then the
 * scheduled-message workflow claims it (records the outgoing message's id)
 * and hands it to the outbox with the idempotency key `scheduled {id}`. When
 * that message leaves `pending`, a trigger marks this one `sent` or `failed`
 * (migration 011).
 */
import type { Knex } from 'knex';
import type { Db } from './knex.js';
import type { StoredContent } from '../domain/content.js';

export type ScheduledStatus = 'pending' | 'sent' | 'failed' | 'cancelled';

export interface ScheduledRow {
  id: number;
  instance_id: string;
  recipient: string;
  recipient_name: string | null;
  message_type: 'text' | 'image' | 'document';
  body: string | null;
  media_url: string | null;
  filename: string | null;
  scheduled_at: Date;
  status: ScheduledStatus;
  message_id: string | null;
  error: string | null;
  sent_at: Date | null;
  content: StoredContent;
  created_at: Date;
  updated_at: Date;
}

export const idempotencyKeyOf = (id: number) => `scheduled ${id}`;

export interface NewScheduled {
  instanceId: string;
  recipient: string;
  recipientName?: string;
  messageType: ScheduledRow['message_type'];
  body?: string;
  mediaUrl?: string;
  filename?: string;
  scheduledAt: Date;
  content: StoredContent;
}

export async function createScheduled(db: Db, message: NewScheduled): Promise<ScheduledRow> {
  const [row] = await db<ScheduledRow>('scheduled_messages')
    .insert({
      instance_id: message.instanceId,
      recipient: message.recipient,
      recipient_name: message.recipientName ?? null,
      message_type: message.messageType,
      body: message.body ?? null,
      media_url: message.mediaUrl ?? null,
      filename: message.filename ?? null,
      scheduled_at: message.scheduledAt,
      content: JSON.stringify(message.content) as unknown as StoredContent,
    })
    .returning('*');
  return row!;
}

export async function deleteScheduled(db: Db, instanceId: string, id: number): Promise<void> {
  await db('scheduled_messages').where({ instance_id: instanceId, id }).delete();
}

export async function getScheduled(db: Db | Knex.Transaction, instanceId: string, id: number): Promise<ScheduledRow | undefined> {
  return db<ScheduledRow>('scheduled_messages').where({ instance_id: instanceId, id }).first();
}

export async function listScheduled(
  db: Db,
  instanceId: string,
  filter: { status?: ScheduledStatus; limit: number; page: number },
): Promise<{ rows: ScheduledRow[]; total: number }> {
  const where = (q: Knex.QueryBuilder) => {
    q.where({ instance_id: instanceId });
    if (filter.status) q.where({ status: filter.status });
    return q;
  };
  const [rows, counted] = await Promise.all([
    where(db('scheduled_messages'))
      .orderBy('scheduled_at', 'desc')
      .orderBy('id', 'desc')
      .limit(filter.limit)
      .offset((filter.page - 1) * filter.limit),
    where(db('scheduled_messages')).count<Array<{ count: string }>>({ count: '*' }),
  ]);
  return { rows: rows as ScheduledRow[], total: Number(counted[0]?.count ?? 0) };
}

/** Why a change of a scheduled message was refused. */
export type ChangeRefused = 'unknown' | 'notPending' | 'sending';

/** Cancels a message that is still waiting for its time; the reason when it cannot be. */
export async function cancelScheduled(db: Db, instanceId: string, id: number): Promise<ChangeRefused | null> {
  const updated = await db('scheduled_messages')
    .where({ instance_id: instanceId, id, status: 'pending' })
    .whereNull('message_id')
    .update({ status: 'cancelled', updated_at: db.fn.now() });
  return updated > 0 ? null : refusal(db, instanceId, id);
}

export interface ScheduledChange {
  scheduledAt?: Date;
  body?: string;
  recipientName?: string;
  /** The content built anew when the text changed. */
  content?: StoredContent;
}

/** Changes the time or text of a message still waiting for its time; the row, or why not. */
export async function rescheduleScheduled(
  db: Db,
  instanceId: string,
  id: number,
  change: ScheduledChange,
): Promise<ScheduledRow | ChangeRefused> {
  const patch: Record<string, unknown> = { updated_at: db.fn.now() };
  if (change.scheduledAt) patch.scheduled_at = change.scheduledAt;
  if (change.body !== undefined) patch.body = change.body;
  if (change.recipientName !== undefined) patch.recipient_name = change.recipientName;
  if (change.content) patch.content = JSON.stringify(change.content);
  const [row] = await db<ScheduledRow>('scheduled_messages')
    .where({ instance_id: instanceId, id, status: 'pending' })
    .whereNull('message_id')
    .update(patch)
    .returning('*');
  return row ?? refusal(db, instanceId, id);
}

async function refusal(db: Db, instanceId: string, id: number): Promise<ChangeRefused> {
  const row = await getScheduled(db, instanceId, id);
  if (!row) return 'unknown';
  return row.status === 'pending' ? 'sending' : 'notPending';
}

export type Claim = { claimed: ScheduledRow } | { dueAt: Date } | { done: ScheduledStatus | 'unknown' };

/**
 * Its time came: records the id its outgoing message will have, once (a
 * retry after a crash gets the id recorded the first time). When it is not
 * due after all (rescheduled later), when it is due; when it was cancelled
 * or handled already, its status.
 */
export async function claimScheduled(db: Db, instanceId: string, id: number, messageId: string): Promise<Claim> {
  const [claimed] = await db<ScheduledRow>('scheduled_messages')
    .where({ instance_id: instanceId, id, status: 'pending' })
    .where('scheduled_at', '<=', db.raw("now() + interval '1 second'"))
    .update({ message_id: db.raw('coalesce(message_id, ?)', [messageId]), updated_at: db.fn.now() })
    .returning('*');
  if (claimed) return { claimed };
  const row = await getScheduled(db, instanceId, id);
  if (!row) return { done: 'unknown' };
  return row.status === 'pending' ? { dueAt: row.scheduled_at } : { done: row.status };
}
