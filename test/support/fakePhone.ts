import type { Db } from '../../db/knex.js';
import { createAuthStore } from '../../db/authStore.js';
import { parseFakeCreds, type FakeCreds } from './fakeDriver.js';

/** The phone scans the instance's QR: the device is linked and its credentials stored. */
export async function scanQr(db: Db, instanceId: string, phone = '905550000001', name = 'Test Phone'): Promise<FakeCreds> {
  const creds: FakeCreds = { fake: true, me: { id: `${phone}:7@s.whatsapp.net`, name, phone } };
  await createAuthStore(db, instanceId).writeCreds(JSON.stringify(creds));
  return creds;
}

/** The phone removes the linked device (Settings → Linked devices → Log out). */
export async function removeDevice(db: Db, instanceId: string): Promise<void> {
  const store = createAuthStore(db, instanceId);
  const creds = parseFakeCreds(await store.readCreds());
  if (creds) await store.writeCreds(JSON.stringify({ ...creds, revoked: true }));
}
