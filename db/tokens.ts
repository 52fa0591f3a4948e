import { createHash, randomBytes } from 'node:crypto';
import type { Db } from './knex.js';

export const SCOPES = ['read', 'send', 'manage'] as const;
export type Scope = (typeof SCOPES)[number];

export interface InstanceToken {
  id: string;
  instanceId: string;
  name: string | null;
  scopes: Scope[];
  /** The token's first characters and an ellipsis: never the token. */
  token: string;
  createdAt: Date;
}

interface TokenRow {
  id: string;
  instance_id: string;
  name: string | null;
  scopes: Scope[];
  prefix: string;
  created_at: Date;
}

export const tokenHash = (token: string) => createHash('sha256').update(token).digest('hex');
const shown = (row: TokenRow): InstanceToken => ({
  id: row.id,
  instanceId: row.instance_id,
  name: row.name,
  scopes: row.scopes,
  token: `${row.prefix}…`,
  createdAt: row.created_at,
});

/** A new token for one instance; the returned `secret` exists nowhere else (only its hash is stored). */
export async function createToken(
  db: Db,
  input: { instanceId: string; name?: string; scopes: Scope[] },
): Promise<InstanceToken & { secret: string }> {
  const secret = `wag_${randomBytes(24).toString('base64url')}`;
  const [row] = await db<TokenRow & { hash: string }>('api_tokens')
    .insert({
      id: `tok_${randomBytes(6).toString('hex')}`,
      instance_id: input.instanceId,
      name: input.name ?? null,
      scopes: input.scopes,
      hash: tokenHash(secret),
      prefix: secret.slice(0, 10),
    })
    .returning('*');
  return { ...shown(row!), secret };
}

export async function listTokens(db: Db): Promise<InstanceToken[]> {
  const rows = await db<TokenRow>('api_tokens').whereNull('revoked_at').orderBy('created_at').orderBy('id');
  return rows.map(shown);
}

/** Revokes a token at once (every API process looks tokens up per request); false when there is none. */
export async function revokeToken(db: Db, id: string): Promise<boolean> {
  return (await db('api_tokens').where({ id }).whereNull('revoked_at').update({ revoked_at: db.fn.now() })) > 0;
}

/** The live token whose hash this is. */
export async function findToken(db: Db, hash: string): Promise<{ id: string; instanceId: string; scopes: Scope[] } | undefined> {
  const row = await db<TokenRow & { hash: string }>('api_tokens')
    .where({ hash })
    .whereNull('revoked_at')
    .first('id', 'instance_id', 'scopes');
  return row ? { id: row.id, instanceId: row.instance_id, scopes: row.scopes } : undefined;
}
