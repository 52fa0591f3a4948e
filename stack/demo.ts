/**
 * `npm run demo`: the whole gateway against the WhatsApp Web simulator, with
 * no phone and no internet. In this one process: the simulator (its control
 * API on SIM_PORT), then the stack of `npm start` pointed at it (Postgres,
 * Temporal, worker and API as its children). A simulated phone pairs the
 * `default` instance through the QR the API shows, two contacts answer what
 * they get, and the curl lines to try it are printed with the real port and
 * token, once the instance is connected and knows its contacts. Ctrl-C stops
 * everything (scripts/start.mjs passes it on once).
 *
 * Its data is kept apart from `npm start`'s (DATA_DIR defaults to
 * ./data-demo): the simulated account's credentials are no use to WhatsApp,
 * nor the real ones to the simulator. The simulated world is kept there too
 * (simulator-state.json), so the next `npm run demo` reconnects the same
 * linked device, as a phone remembers it; when it must pair again, it says why.
 */
import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { createDb } from '../db/knex.js';
import { storedApiToken } from '../db/appSettings.js';
import { Simulator } from '../simulator/simulator.js';
import { mountControlApi } from '../simulator/control.js';
import { sendFromPhone } from '../simulator/messages.js';
import { WA_VERSION } from '../simulator/version.js';

// libsignal prints whole Signal sessions (keys included) with console.info when it replaces one, and the simulated
// phones' routine session changes with console.warn: not for a terminal.
console.info = () => {};
console.warn = () => {};

const SHOP = { phone: '905550000001', name: 'Demo Shop' };
const CONTACTS = [
  { phone: '905550000002', name: 'Ayşe' },
  { phone: '905550000003', name: 'Mehmet' },
];

const unsetIfEmpty = (v: unknown) => (v === '' ? undefined : v);
const env = z
  .object({
    SIM_PORT: z.preprocess(unsetIfEmpty, z.coerce.number().int().min(0).max(65535).default(7780)),
    DATA_DIR: z.preprocess(unsetIfEmpty, z.string().min(1).default('./data-demo')),
  })
  .safeParse(process.env);
if (!env.success) {
  const issue = env.error.issues[0]!;
  process.stderr.write(`configuration error: invalid ${issue.path.join('.')}: ${issue.message}\n`);
  process.exit(1);
}
const log = (line: string) => process.stdout.write(`[demo] ${line}\n`);
const dataDir = resolve(env.data.DATA_DIR);

mkdirSync(dataDir, { recursive: true, mode: 0o700 });
const stateFile = resolve(dataDir, 'simulator-state.json');
const sim = await Simulator.start({ port: env.data.SIM_PORT, host: '127.0.0.1', stateFile });
// The stack exits the process once it has stopped what it started (the gateway's keys are stored by then).
process.on('exit', () => {
  try {
    sim.writeState();
  } catch (err) {
    process.stderr.write(`[demo] the simulator's state could not be written to ${stateFile}: ${(err as Error).message}\n`);
  }
});
const caFile = await sim.media.writeCa(resolve(dataDir, 'simulator-ca.pem'));
mountControlApi(sim, { caFile });
log(`WhatsApp Web simulator on ${sim.url} (control API http://127.0.0.1:${sim.port}/control)`);
if (sim.stateLoad?.found === 'unreadable')
  log(`the simulator's saved state (${stateFile}) could not be read (${sim.stateLoad.error}); the simulated world starts afresh`);

// The stack reads its configuration when it is loaded: the gateway talks to the simulator, and may fetch
// media from this machine (a demo's files are local).
Object.assign(process.env, {
  DATA_DIR: dataDir,
  WA_WS_URL: sim.url,
  WA_VERSION,
  WA_CA_FILE: caFile,
  MEDIA_ALLOW_PRIVATE_URLS: process.env.MEDIA_ALLOW_PRIVATE_URLS || 'true',
});
const { ready } = await import('./main.js');
const stack = await ready;
const base = `http://localhost:${stack.apiPort}`;

const token = process.env.API_TOKEN || (await tokenIn(stack.databaseUrl));
const api = async (method: string, path: string, body?: unknown) => {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  return (await res.json()) as Record<string, any>;
};

const shop = sim.addUser(SHOP.phone, SHOP.name);
// The devices the simulated phone had linked before this start (kept in the state file), to tell a reconnect
// from a pairing, and say why one was needed.
const linkedBefore = [...shop.companions.values()];
for (const contact of CONTACTS) {
  sim.addUser(contact.phone, contact.name);
  if (shop.addressBook.get(contact.phone) !== contact.name) await sim.saveContact(SHOP.phone, contact.phone, contact.name);
}

// A contact answers each message the shop sends it, a second later, as a person would: in words of their
// own, never repeating the shop's (a reply quoting it would set off a chatbot rule whose answer holds its trigger).
const ANSWERS = ['Teşekkürler, harika! 😊', 'Tamam, anladım. İyi günler!', 'Süper, bekliyorum.'];
let answered = 0;
sim.onMessage((message) => {
  const contact = CONTACTS.find((c) => c.phone === message.to);
  if (!contact || message.ownCopy || message.from !== SHOP.phone) return;
  const reply = ANSWERS[answered++ % ANSWERS.length]!;
  setTimeout(() => {
    sendFromPhone(sim, sim.user(contact.phone), sim.user(SHOP.phone), { conversation: reply }).catch((err: Error) =>
      log(`${contact.name} could not answer: ${err.message}`),
    );
  }, 1_000);
});

let scanned: boolean;
try {
  scanned = await pair();
  await knowsContacts();
} catch (err) {
  // The stack stops everything it started (its SIGTERM handler), then exits.
  log(`the demo could not start: ${(err as Error).message}`);
  process.kill(process.pid, 'SIGTERM');
  await new Promise(() => {});
}
const device = String((await api('GET', '/api/instance/default/me')).id).match(/:(\d+)@/)?.[1] ?? '?';
const phone = `the simulated phone +${SHOP.phone} (${SHOP.name})`;
const lost = scanned! ? whyPairedAgain() : undefined;
if (!scanned!) log(`reconnected: the default instance is still linked to ${phone} as device ${device}; no new pairing was needed`);
else if (lost)
  log(`paired again: the earlier pairing was lost because ${lost}; the default instance is now linked to ${phone} as device ${device}`);
else log(`paired: the default instance is linked to ${phone} as device ${device}`);

const to = CONTACTS[0]!.phone;
const auth = `-H "Authorization: Bearer ${token}"`;
process.stdout.write(
  [
    '',
    `Try it (another terminal; the dashboard is ${base}/, the token signs in):`,
    `  curl -X POST ${auth} -H 'content-type: application/json' ${base}/api/instance/default/messages/chat -d '{"to":"${to}","body":"Merhaba Ayşe"}'`,
    `  curl ${auth} '${base}/api/instance/default/messages?limit=5'    # ${CONTACTS[0]!.name}'s reply comes in a second later`,
    `  curl ${auth} ${base}/api/instance/default/contacts`,
    `  curl ${auth} ${base}/api/instance/default/chats`,
    '',
    `Make a contact write first (the simulator's control API):`,
    `  curl -X POST -H 'content-type: application/json' http://127.0.0.1:${sim.port}/control/messages -d '{"from":"${CONTACTS[1]!.phone}","to":"${SHOP.phone}","body":"Fiyat nedir?"}'`,
    '',
    'The API token again:',
    `  DATA_DIR=${env.data.DATA_DIR} npm run -s token`,
    'Ctrl-C stops the demo; the next `npm run demo` reconnects the same device.',
    '',
  ].join('\n'),
);

/** The API token the stack generated and stored. */
async function tokenIn(databaseUrl: string): Promise<string> {
  const db = createDb(databaseUrl, { poolMax: 1 });
  try {
    const token = await storedApiToken(db);
    if (!token) throw new Error('no API token stored');
    return token;
  } finally {
    await db.destroy();
  }
}

/**
 * Connects the default instance and scans each QR it shows, until it is open. True when it paired (a QR was
 * scanned); false when it logged in with the credentials it kept.
 */
async function pair(): Promise<boolean> {
  const deadline = Date.now() + 120_000;
  let scanned: string | undefined;
  let connectedAt = 0;
  while (Date.now() < deadline) {
    const { accountStatus } = await api('GET', '/api/instance/default/status');
    const status = accountStatus?.status as string | undefined;
    if (status === 'open') return scanned !== undefined;
    // A session just asked for still shows `disconnected` until the worker (starting too) takes it up; asking
    // again then waits up to 10 s for it to end, as for a session that is logging out.
    if (status === 'disconnected' && Date.now() - connectedAt > 15_000) {
      await api('POST', '/api/instance/default/connect');
      connectedAt = Date.now();
    }
    const { qrCode } = await api('GET', '/api/instance/default/qr');
    if (typeof qrCode === 'string' && qrCode !== scanned) {
      scanned = qrCode;
      await sim.scanQr(SHOP.phone, qrCode).catch((err: Error) => log(`scanning the QR failed: ${err.message}`));
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('the default instance did not pair with the simulated phone within 2 minutes');
}

/** Waits (up to 30 s) until the gateway knows the contacts by the names the phone saved (the app state's sync, after a pairing). */
async function knowsContacts(): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const known = (await api('GET', '/api/instance/default/contacts')) as unknown as Array<{ name?: string }>;
    if (CONTACTS.every((c) => Array.isArray(known) && known.some((k) => k.name === c.name))) return;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/**
 * Why the default instance had to pair again, or undefined for a first pairing: the gateway came with
 * credentials the simulated phone did not know, or came without any while the phone had linked it before.
 */
function whyPairedAgain(): string | undefined {
  const refused = sim.refusedLogins.find((login) => login.phone === SHOP.phone);
  if (refused) {
    const forgot = `so the simulated phone no longer knew the gateway's device ${refused.device}`;
    if (sim.stateLoad?.found === 'missing') return `the simulator's saved state (${stateFile}) was missing, ${forgot}`;
    if (sim.stateLoad?.found === 'unreadable')
      return `the simulator's saved state (${stateFile}) could not be read (${sim.stateLoad.error}), ${forgot}`;
    if (refused.reason === 'removed') return `the simulated phone had logged the gateway's device ${refused.device} out`;
    return `the simulated phone refused the gateway's device ${refused.device} (${refused.reason})`;
  }
  // The device linked last (a phone lists its linked devices in the order they were linked).
  const last = linkedBefore.at(-1);
  if (!last) return undefined;
  if (!last.removed)
    return `the gateway had no credentials for the default instance any more (its database is new, or they were deleted), though the simulated phone still listed its device ${last.deviceId}`;
  return `the default instance had been logged out (the simulated phone removed its device ${last.deviceId})`;
}
