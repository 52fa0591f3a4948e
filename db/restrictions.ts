/**
 * The limits WhatsApp put on an instance's account (message capping, the
 * reach-out timelock), one row per kind. Recording one writes its
 * `account_restriction` webhook event and pauses (or, once nothing restricts
 * the account any more, resumes) the instance's campaigns, in one
 * transaction: the event names the campaigns it paused or resumed.
 */
import type { Knex } from 'knex';
import type { Db } from './knex.js';
import { recordEvent } from './events.js';
import { pauseForRestriction, resumeAfterRestriction } from './campaigns.js';
import type { AccountRestriction } from '../whatsapp/session.js';

export type RestrictionKind = AccountRestriction['kind'];

interface RestrictionRow {
  instance_id: string;
  kind: RestrictionKind;
  active: boolean;
  until: Date | null;
  details: Record<string, unknown>;
  updated_at: Date;
}

/** A restriction as the API and webhooks show it; `active` is false once `until` has passed. */
export interface ShownRestriction {
  active: boolean;
  until: string | null;
  updatedAt: string;
  [detail: string]: unknown;
}

/** Restricting now: active and not past its end. */
const inForce = (db: Db | Knex.Transaction) => db.raw(`active and (until is null or until > now())`) as unknown as Knex.Raw;

export interface RecordedRestriction {
  /** Whether anything restricts the account now (any kind). */
  restricted: boolean;
  paused: number[];
  resumed: number[];
}

export async function recordRestriction(db: Db, instanceId: string, restriction: AccountRestriction): Promise<RecordedRestriction> {
  const { kind, active, until, ...details } = restriction;
  return db.transaction(async (trx) => {
    const [row] = await trx<RestrictionRow>('instance_restrictions')
      .insert({
        instance_id: instanceId,
        kind,
        active,
        until: until ? new Date(until) : null,
        details: JSON.stringify(details) as unknown as Record<string, unknown>,
        updated_at: trx.fn.now() as unknown as Date,
      })
      .onConflict(['instance_id', 'kind'])
      .merge()
      .returning('*');
    const restricted = await isRestricted(trx, instanceId);
    const paused = restricted ? await pauseForRestriction(trx, instanceId) : [];
    const resumed = restricted ? [] : await resumeAfterRestriction(trx, instanceId);
    await recordEvent(trx, instanceId, 'account_restriction', {
      kind,
      ...shown(row!),
      restricted,
      pausedCampaigns: paused,
      resumedCampaigns: resumed,
    });
    return { restricted, paused, resumed };
  });
}

/**
 * Resumes the campaigns paused for a restriction when nothing restricts the
 * account any more (a restriction's end passed without word from WhatsApp).
 */
export async function liftExpired(db: Db, instanceId: string): Promise<number[]> {
  return db.transaction(async (trx) => ((await isRestricted(trx, instanceId)) ? [] : resumeAfterRestriction(trx, instanceId)));
}

/** Whether a restriction in force (active, not past its end) limits the account now. */
export async function isRestricted(db: Db | Knex.Transaction, instanceId: string): Promise<boolean> {
  const row = await db('instance_restrictions').where({ instance_id: instanceId }).where(inForce(db)).first('kind');
  return !!row;
}

/** The next moment a restriction in force ends by itself (ms since the epoch), if one says when. */
export async function nextExpiry(db: Db, instanceId: string): Promise<number | undefined> {
  const row = await db('instance_restrictions')
    .where({ instance_id: instanceId })
    .where(inForce(db))
    .whereNotNull('until')
    .min('until as at')
    .first();
  return row?.at ? new Date(row.at).getTime() : undefined;
}

/** The instance's restrictions by kind (null: WhatsApp never reported that kind). */
export async function restrictionsOf(db: Db, instanceId: string): Promise<Record<RestrictionKind, ShownRestriction | null>> {
  const rows = await db<RestrictionRow>('instance_restrictions').where({ instance_id: instanceId });
  const byKind = new Map(rows.map((r) => [r.kind, shown(r)]));
  return { messageCapping: byKind.get('messageCapping') ?? null, reachoutTimelock: byKind.get('reachoutTimelock') ?? null };
}

function shown(row: RestrictionRow): ShownRestriction {
  const until = row.until ? new Date(row.until) : null;
  return {
    active: row.active && (!until || until.getTime() > Date.now()),
    until: until?.toISOString() ?? null,
    ...row.details,
    updatedAt: new Date(row.updated_at).toISOString(),
  };
}
