import { randomBytes } from 'node:crypto';
import type { Db } from './knex.js';

/**
 * The API token when none is configured: generated once, stored in the
 * database so every API process shares it. `created` is true only for the
 * process that generated it (the one that prints it).
 */
export async function ensureApiToken(db: Db): Promise<{ token: string; created: boolean }> {
  const candidate = randomBytes(24).toString('base64url');
  const inserted = await db('app_settings').insert({ key: 'api_token', value: candidate }).onConflict('key').ignore().returning('value');
  if (inserted.length > 0) return { token: candidate, created: true };
  const row = await db('app_settings').where({ key: 'api_token' }).first('value');
  return { token: row.value, created: false };
}

export const DEFAULT_INSTANCE_ID = 'default';

/** The generated API token, if the API has stored one. */
export async function storedApiToken(db: Db): Promise<string | undefined> {
  return (await db('app_settings').where({ key: 'api_token' }).first('value'))?.value as string | undefined;
}
