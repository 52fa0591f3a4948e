import { preparedQuery, type Db } from './knex.js';
import type { AuthStore } from '../whatsapp/session.js';

/**
 * Session credentials in Postgres, so any worker can resume any session.
 * Values are opaque strings; the WhatsApp adapter decides their encoding.
 */
export function createAuthStore(db: Db, instanceId: string): AuthStore {
  return {
    async readCreds() {
      const row = await db('session_creds').where({ instance_id: instanceId }).first('creds');
      return row?.creds ?? null;
    },
    async writeCreds(creds) {
      await db('session_creds').insert({ instance_id: instanceId, creds, updated_at: db.fn.now() }).onConflict('instance_id').merge();
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
        if (upserts.length) await preparedQuery(db, 'write_session_keys', UPSERT_KEYS, upsertValues);
        return;
      }
      await db.transaction(async (trx) => {
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
    async clear() {
      await db.transaction(async (trx) => {
        await trx('session_keys').where({ instance_id: instanceId }).delete();
        await trx('session_creds').where({ instance_id: instanceId }).delete();
      });
    },
  };
}

const UPSERT_KEYS = `insert into session_keys (instance_id, type, key_id, value)
  select $1, * from unnest($2::text[], $3::text[], $4::text[])
  on conflict (instance_id, type, key_id) do update set value = excluded.value`;
