/** The address book of an instance as the API and the chatbot read it (what WhatsApp reports is stored by db/directory.ts). */
import type { Db } from './knex.js';

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

/** The contact's names: the one saved in the address book, and the one they gave themselves. */
export async function contactNames(db: Db, instanceId: string, id: string): Promise<Pick<ContactRow, 'name' | 'notify'> | undefined> {
  return db('contacts').where({ instance_id: instanceId, id }).first('name', 'notify');
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
