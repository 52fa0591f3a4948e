import { preparedQuery, type Db } from './knex.js';
import type { AuthStore } from '../whatsapp/session.js';

/** A write refused because another worker has claimed the session since (its lease epoch moved on). */
export class LeaseLostError extends Error {
  /** No retry can land (see AuthStore). */
  readonly permanent = true;
  constructor(instanceId: string) {
    super(`session ${instanceId} is held by another worker now; this worker's write was refused`);
    this.name = 'LeaseLostError';
  }
}

/**
 * Session credentials in Postgres, so any worker can resume any session.
 * Values are opaque strings; the WhatsApp adapter decides their encoding.
 *
 * A store belongs to the worker holding the session's lease, and every write
 * is fenced by that lease: it lands only while the lease still has this
 * holder's epoch, and it holds the lease row (FOR SHARE) until it commits, so
 * a worker that takes the session over reads it in full. A holder that lost
 * the lease (presumed dead, yet still running) can then never overwrite the
 * new holder's credentials or Signal keys; its write fails with
 * LeaseLostError and `lease.onLost` is called.
 */
export function createAuthStore(db: Db, instanceId: string, lease: { epoch: number; onLost?: () => void }): AuthStore {
  const lost = () => {
    lease.onLost?.();
    return new LeaseLostError(instanceId);
  };
  return {
    async readCreds() {
      const row = await db('session_creds').where({ instance_id: instanceId }).first('creds');
      return row?.creds ?? null;
    },
    async writeCreds(creds) {
      const [row] = await preparedQuery<{ held: boolean }>(db, 'write_session_creds', WRITE_CREDS_FENCED, [instanceId, creds, lease.epoch]);
      if (!row?.held) throw lost();
    },
    async readKeys(type, ids) {
      if (ids.length === 0) return {};
      const rows = await db('session_keys').where({ instance_id: instanceId, type }).whereIn('key_id', ids).select('key_id', 'value');
      return Object.fromEntries(rows.map((r: { key_id: string; value: string }) => [r.key_id, r.value]));
    },
    async writeKeys(changes) {
      const upserts = changes.filter((c) => c.value !== null);
      const deletes = changes.filter((c) => c.value === null);
      const upsertValues = [instanceId, upserts.map((c) => c.type), upserts.map((c) => c.id), upserts.map((c) => c.value)];
      if (deletes.length === 0) {
        // The common case (a Signal session updated by a send, a pre-key upload): one statement, atomic by itself.
        if (upserts.length === 0) return;
        const [row] = await preparedQuery<{ held: boolean }>(db, 'write_session_keys', UPSERT_KEYS_FENCED, [...upsertValues, lease.epoch]);
        if (!row?.held) throw lost();
        return;
      }
      await db.transaction(async (trx) => {
        const held = await trx('session_leases').where({ instance_id: instanceId, epoch: lease.epoch }).forShare().first('epoch');
        if (!held) throw lost();
        // The same statement with knex's ? placeholders, inside the transaction.
        if (upserts.length) await trx.raw(UPSERT_KEYS.replace(/\$\d/g, '?'), upsertValues as never);
        await trx('session_keys')
          .where({ instance_id: instanceId })
          .whereIn(
            ['type', 'key_id'],
            deletes.map((c) => [c.type, c.id]),
          )
          .delete();
      });
    },
    clear: () => clearSessionAuth(db, instanceId),
  };
}

/** Forgets an instance's credentials and keys (logged out): its next connection shows a QR. */
export async function clearSessionAuth(db: Db, instanceId: string): Promise<void> {
  await db.transaction(async (trx) => {
    await trx('session_keys').where({ instance_id: instanceId }).delete();
    await trx('session_creds').where({ instance_id: instanceId }).delete();
  });
}

const UPSERT_KEYS = `insert into session_keys (instance_id, type, key_id, value)
  select $1, * from unnest($2::text[], $3::text[], $4::text[])
  on conflict (instance_id, type, key_id) do update set value = excluded.value`;

/** UPSERT_KEYS, only while the lease has the writer's epoch ($5); answers whether it had. */
const UPSERT_KEYS_FENCED = `with lease as (select 1 from session_leases where instance_id = $1 and epoch = $5 for share),
  written as (
    insert into session_keys (instance_id, type, key_id, value)
    select $1, * from unnest($2::text[], $3::text[], $4::text[]) where exists (select 1 from lease)
    on conflict (instance_id, type, key_id) do update set value = excluded.value
    returning 1
  )
  select exists (select 1 from lease) as held`;

const WRITE_CREDS_FENCED = `with lease as (select 1 from session_leases where instance_id = $1 and epoch = $3 for share),
  written as (
    insert into session_creds (instance_id, creds, updated_at)
    select $1, $2::text, now() where exists (select 1 from lease)
    on conflict (instance_id) do update set creds = excluded.creds, updated_at = excluded.updated_at
    returning 1
  )
  select exists (select 1 from lease) as held`;
