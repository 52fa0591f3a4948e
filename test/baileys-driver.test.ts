// The gateway's Baileys driver on its own (no Temporal, no Postgres) against the simulator,
// with a credentials store as slow as a loaded database, and the credential writer's ordering.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pino from 'pino';
import { Simulator } from '../simulator/simulator.js';
import { createBaileysDriver } from '../whatsapp/baileys/driver.js';
import { SessionCreds } from '../whatsapp/baileys/authState.js';
import type { AuthStore, SessionClose, WhatsAppSession } from '../whatsapp/session.js';
import { WA_VERSION } from './support/bareBaileys.js';
import { eventually } from './support/gateway.js';

let sim: Simulator;
before(async () => {
  sim = await Simulator.start();
});
after(async () => {
  await sim?.stop();
});

/** Credentials and keys in memory; every credentials write takes `credsDelayMs` to land. */
function slowStore(credsDelayMs: number) {
  const keys = new Map<string, string>();
  const state = { creds: null as string | null, credsWrites: 0 };
  const store: AuthStore = {
    readCreds: async () => state.creds,
    async writeCreds(creds) {
      state.credsWrites++;
      await sleep(credsDelayMs);
      state.creds = creds;
    },
    readKeys: async (type, ids) =>
      Object.fromEntries(ids.flatMap((id) => (keys.has(`${type}:${id}`) ? [[id, keys.get(`${type}:${id}`)!]] : []))),
    async writeKeys(changes) {
      for (const c of changes) c.value === null ? keys.delete(`${c.type}:${c.id}`) : keys.set(`${c.type}:${c.id}`, c.value);
    },
    clear: async () => {
      keys.clear();
      state.creds = null;
    },
  };
  return { store, state };
}

function connect(store: AuthStore) {
  const driver = createBaileysDriver({ wsUrl: sim.url, version: WA_VERSION.join('.') });
  const seen = { qrs: [] as string[], opened: 0 };
  const session = driver.connect({
    instanceId: 'driver-test',
    auth: store,
    logger: pino({ level: 'silent' }),
    handlers: { qr: (qr) => seen.qrs.push(qr), open: () => seen.opened++ },
  });
  return { session, seen };
}

test('after pairing, the 515 restart logs in with the new credentials even when storing them is slow', async () => {
  const { store, state } = slowStore(400);
  sim.addUser('905551239001', 'Yavaş');
  const first = connect(store);
  const session: WhatsAppSession = await first.session;
  await eventually(async () => first.seen.qrs.length > 0, 15_000, 'a QR');
  await sim.scanQr('905551239001', first.seen.qrs[0]!);
  const close: SessionClose = await session.closed;
  assert.equal(close.reason, 'restartRequired');
  // The connection ended only once the paired credentials were stored: the next one reads them.
  assert.ok(state.creds, 'credentials stored before the session reported its end');
  assert.match(JSON.parse(state.creds).me?.id ?? '', /^905551239001:\d+@s\.whatsapp\.net$/);

  const second = connect(store);
  const again = await second.session;
  await eventually(async () => second.seen.opened > 0, 15_000, 'open with the stored credentials');
  assert.deepEqual(second.seen.qrs, [], 'no QR: the restart logged in');
  assert.equal((await again.exists('905551239001@s.whatsapp.net')).exists, true, 'the logged-in session answers queries');
  await again.close();
});

test('credential writes land one at a time, in order, the latest state last; saves during a write go out together', async () => {
  let current = 0;
  const landed: number[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  const creds = new SessionCreds(async () => {
    const snapshot = current;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // An older write that is slower than a newer one would land after it, were they concurrent.
    await sleep(snapshot === 1 ? 120 : 10);
    landed.push(snapshot);
    inFlight--;
  });
  current = 1;
  const firstSave = creds.save();
  current = 2;
  void creds.save();
  current = 3;
  void creds.save();
  await firstSave;
  assert.equal(maxInFlight, 1);
  assert.deepEqual(landed, [1, 3], 'the saves made during the first write were stored in one write of the latest state');
  await creds.finish(1_000);
  await creds.save();
  assert.deepEqual(landed, [1, 3], 'saves after the end are ignored');
});

test('a failed credentials write is retried until it lands, and finish waits for it', async () => {
  let attempts = 0;
  const failures: unknown[] = [];
  let stored = false;
  const creds = new SessionCreds(
    async () => {
      if (++attempts < 3) throw new Error(`database unavailable (${attempts})`);
      stored = true;
    },
    (err) => failures.push(err),
  );
  void creds.save();
  await creds.finish(5_000);
  assert.equal(stored, true);
  assert.equal(attempts, 3);
  assert.deepEqual(
    failures.map((e) => (e as Error).message),
    ['database unavailable (1)', 'database unavailable (2)'],
  );
});

test('finish gives up after its timeout and stops retrying a write that keeps failing', async () => {
  let attempts = 0;
  const creds = new SessionCreds(async () => {
    attempts++;
    throw new Error('database unavailable');
  });
  const saved = creds.save();
  await assert.rejects(creds.finish(400), /credentials were not stored within 400 ms/);
  await assert.rejects(saved, /database unavailable/);
  const after = attempts;
  await sleep(600);
  assert.equal(attempts, after, 'no retries once the session ended');
});
