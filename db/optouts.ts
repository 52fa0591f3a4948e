/**
 * The numbers that asked an instance not to be sent campaigns (campaigns skip them; single sends are not
 * affected). Opting out also ends the contact's running conversation flow, and a flow is not started for
 * them from the API.
 */
import type { Db } from './knex.js';
import { getSettings } from './settings.js';
import { keywordForm } from '../domain/textForm.js';
import type { IncomingMessage } from '../whatsapp/session.js';

export interface OptOutRow {
  jid: string;
  source: 'keyword' | 'api';
  keyword: string | null;
  created_at: Date;
}

/** Adds a number (again: no change); true when it was not listed yet. */
export async function addOptOut(db: Db, instanceId: string, jid: string, source: OptOutRow['source'], keyword?: string): Promise<boolean> {
  const inserted = await db('instance_optouts')
    .insert({ instance_id: instanceId, jid, source, keyword: keyword ?? null })
    .onConflict(['instance_id', 'jid'])
    .ignore()
    .returning('jid');
  return inserted.length > 0;
}

export async function isOptedOut(db: Db, instanceId: string, jid: string): Promise<boolean> {
  return (await db('instance_optouts').where({ instance_id: instanceId, jid }).first('jid')) !== undefined;
}

export async function removeOptOut(db: Db, instanceId: string, jid: string): Promise<boolean> {
  return (await db('instance_optouts').where({ instance_id: instanceId, jid }).delete()) > 0;
}

export async function listOptOuts(
  db: Db,
  instanceId: string,
  page: { limit: number; page: number },
): Promise<{ rows: OptOutRow[]; total: number }> {
  const [rows, counted] = await Promise.all([
    db('instance_optouts')
      .where({ instance_id: instanceId })
      .orderBy('created_at', 'desc')
      .orderBy('jid')
      .limit(page.limit)
      .offset((page.page - 1) * page.limit)
      .select('jid', 'source', 'keyword', 'created_at'),
    db('instance_optouts').where({ instance_id: instanceId }).count<Array<{ count: string }>>({ count: '*' }),
  ]);
  return { rows: rows as OptOutRow[], total: Number(counted[0]?.count ?? 0) };
}

/**
 * What an incoming message says, as opt-out keywords are compared (`keywordForm`), when it could be one:
 * a contact's short text in a 1:1 chat. Undefined for any other message.
 */
export function optOutForm(m: Pick<IncomingMessage, 'fromMe' | 'type' | 'chatId' | 'body'>): string | undefined {
  if (m.fromMe || m.type !== 'chat' || !m.chatId.endsWith('@s.whatsapp.net') || !m.body || m.body.length > 64) return undefined;
  return keywordForm(m.body);
}

/**
 * Puts the senders of incoming 1:1 texts that equal one of the instance's
 * opt-out keywords (case and accents aside) on its list; returns who was added.
 */
export async function optOutByKeyword(db: Db, instanceId: string, messages: IncomingMessage[]): Promise<string[]> {
  const candidates = messages.filter((m) => optOutForm(m) !== undefined);
  if (candidates.length === 0) return [];
  const keywords = new Map((await getSettings(db, instanceId)).optOutKeywords.map((k) => [keywordForm(k), k]));
  const added: string[] = [];
  for (const message of candidates) {
    const keyword = keywords.get(optOutForm(message)!);
    if (keyword && (await addOptOut(db, instanceId, message.chatId, 'keyword', keyword))) added.push(message.chatId);
  }
  return added;
}
