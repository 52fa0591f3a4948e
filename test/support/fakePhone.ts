import type { Db } from '../../db/knex.js';
import { parseFakeCreds, type FakeCreds } from './fakeDriver.js';

// The fake driver keeps "WhatsApp's" side of a linked device in the stored credentials, so the
// phone acts on that row directly, from outside the gateway (and outside any worker's lease).
const writeCreds = (db: Db, instanceId: string, creds: FakeCreds) =>
  db('session_creds').insert({ instance_id: instanceId, creds: JSON.stringify(creds), updated_at: db.fn.now() }).onConflict('instance_id').merge();

/** The phone scans the instance's QR: the device is linked and its credentials stored. */
export async function scanQr(db: Db, instanceId: string, phone = '905550000001', name = 'Test Phone'): Promise<FakeCreds> {
  const creds: FakeCreds = { fake: true, me: { id: `${phone}:7@s.whatsapp.net`, name, phone } };
  await writeCreds(db, instanceId, creds);
  return creds;
}

/** The phone removes the linked device (Settings → Linked devices → Log out). */
export async function removeDevice(db: Db, instanceId: string): Promise<void> {
  const row = await db('session_creds').where({ instance_id: instanceId }).first('creds');
  const creds = parseFakeCreds(row?.creds ?? null);
  if (creds) await writeCreds(db, instanceId, { ...creds, revoked: true });
}
