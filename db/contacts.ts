/** The address book of an instance as the API and the chatbot read it (what WhatsApp reports is stored by db/directory.ts). */
import type { Db } from './knex.js';
import { phoneOf } from '../domain/recipients.js';

export interface ContactRow {
  id: string;
  name: string | null;
  notify: string | null;
}

export async function listContacts(db: Db, instanceId: string): Promise<ContactRow[]> {
  return db('contacts').where({ instance_id: instanceId }).orderBy('id').select('id', 'name', 'notify');
}

export async function contactIds(db: Db, instanceId: string): Promise<string[]> {
  return (await db('contacts').where({ instance_id: instanceId }).orderBy('id').pluck('id')) as string[];
}

export async function findContact(db: Db, instanceId: string, id: string): Promise<ContactRow | undefined> {
  return db('contacts').where({ instance_id: instanceId, id }).first('id', 'name', 'notify');
}

/**
 * What to call a contact (a template's `{name}`): the name saved in the address book, else the one they gave
 * themselves (stored, or `pushName` from their message), else their number.
 */
export async function nameOf(db: Db, instanceId: string, id: string, pushName?: string): Promise<string> {
  const contact: Pick<ContactRow, 'name' | 'notify'> | undefined = await db('contacts')
    .where({ instance_id: instanceId, id })
    .first('name', 'notify');
  return contact?.name || contact?.notify || pushName || phoneOf(id);
}

/** The contacts saved in the account's address book (by phone number): who "my contacts" are for a status. */
export async function savedContactIds(db: Db, instanceId: string): Promise<string[]> {
  return (await db('contacts')
    .where({ instance_id: instanceId })
    .whereNotNull('name')
    .where('id', 'like', '%@s.whatsapp.net')
    .orderBy('id')
    .pluck('id')) as string[];
}
