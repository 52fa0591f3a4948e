/**
 * The simulator's HTTP control API: JSON routes under `/control/...` that let
 * a demo, a script or a test in another process do what the simulated phones
 * do (add users, save contacts, scan a QR or type a pairing code, send texts and receipts, edit and delete messages, vote on polls, call, create groups and
 * administer them: members, subject, description, invite links, joining, leaving; remove a
 * linked device) and inject faults. It shares the simulator's HTTP server with
 * the websocket endpoint, so one port serves both.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHash } from 'node:crypto';
import { getContentType } from '@whiskeysockets/baileys';
import { z } from 'zod';
import { BadRequest, Conflict, HttpError, NotFound, PayloadTooLarge } from '../lib/errors.js';
import { pnJid, type Companion, type SimUser } from './directory.js';
import { sendFromPhone, sendReceipt, type ReceivedMessage } from './messages.js';
import { parse, phone, type Handler } from './controlKit.js';
import { featureRoutes } from './controlFeatures.js';
import { callRoutes, groupRoutes } from './controlGroups.js';
import type { Simulator } from './simulator.js';
import { PairingCodeError } from './pairingCode.js';
import { GroupRefusal, type GroupAdmin } from './groupAdmin.js';

export interface ControlOptions {
  /** Where the media host's CA certificate was written, to report in `GET /control`. */
  caFile?: string;
}

// A QR data URI is a few kilobytes; anything near this is a mistake.
const MAX_BODY_BYTES = 1024 * 1024;

const schemas = {
  user: z.object({
    phone,
    name: z.string().min(1).optional(),
    pictureUrl: z.string().url().optional(),
    groupAddPrivacy: z.enum(['all', 'contacts', 'none']).optional(),
  }),
  scan: z.object({ phone, qr: z.string().min(1) }),
  pairCode: z.object({ phone, code: z.string().regex(/^[0-9A-Za-z]{4}-?[0-9A-Za-z]{4}$/, 'must be the 8 characters the device shows') }),
  contact: z.object({ owner: phone, phone, name: z.string().min(1).max(256) }),
  message: z.object({ from: phone, to: phone.optional(), group: z.string().min(1).optional(), body: z.string().min(1) }),
  received: z.object({ to: phone.optional(), since: z.coerce.number().int().min(0).optional() }),
  receipts: z.object({
    from: phone,
    to: phone,
    ids: z.array(z.string().min(1)).min(1),
    type: z.enum(['delivered', 'read', 'played']),
  }),
  policy: z.object({ policy: z.enum(['none', 'delivered', 'read']) }),
  logout: z.object({ phone, deviceId: z.number().int().min(1).optional() }),
  faults: z
    .object({
      refuse: z.boolean(),
      delayMs: z.number().int().min(0).max(60_000),
      failLogins: z.number().int().min(0),
      ackError: z.number().int().min(0),
    })
    .partial()
    .strict(),
  onePhone: z.object({ phone: phone.optional() }),
  seen: z.object({ to: phone.optional(), from: phone.optional(), since: z.coerce.number().int().min(0).optional() }),
  restriction: z
    .object({
      phone,
      kind: z.enum(['messageCapping', 'reachoutTimelock']),
      active: z.boolean(),
      // ms since the epoch, or an ISO time
      until: z.union([z.number().int().min(0), z.iso.datetime({ offset: true }).transform((v) => Date.parse(v))]).optional(),
      enforcementType: z.string().min(1).max(64).optional(),
      cappingStatus: z.enum(['NONE', 'FIRST_WARNING', 'SECOND_WARNING', 'CAPPED']).optional(),
      totalQuota: z.number().int().min(0).optional(),
      usedQuota: z.number().int().min(0).optional(),
    })
    .strict(),
};

/** Adds the `/control` routes to `sim.httpServer`; other paths answer 404. */
export function mountControlApi(sim: Simulator, options: ControlOptions = {}): void {
  const routes = controlRoutes(sim, options);
  sim.httpServer.on('request', (req: IncomingMessage, res: ServerResponse) => {
    void handle(routes, req, res);
  });
}

function controlRoutes(sim: Simulator, options: ControlOptions): Record<string, Handler> {
  const context = controlContext(sim, options);
  return {
    ...userRoutes(context),
    ...messageRoutes(context),
    ...callRoutes(context),
    ...groupRoutes(context),
    ...featureRoutes(context),
    ...connectionRoutes(context),
  };
}

/** What every group of control routes uses: the simulator and the lookups that refuse an unknown user, call or device. */
function controlContext(sim: Simulator, options: ControlOptions) {
  const known = (phoneNumber: string): SimUser => {
    const user = sim.directory.find(phoneNumber);
    if (!user) throw new NotFound(`no simulated user ${phoneNumber}`);
    return user;
  };
  const linked = (user: SimUser): Companion[] => [...user.companions.values()].filter((c) => !c.removed);
  // Without a linked device a text or receipt would vanish silently: say so instead.
  const linkedOrConflict = (user: SimUser): Companion[] => {
    const devices = linked(user);
    if (!devices.length) throw new Conflict(`${user.phone} has no linked device`);
    return devices;
  };
  const knownCall = (id: string) => {
    const call = sim.callRegistry.calls.get(id);
    if (!call) throw new NotFound(`no simulated call ${id}`);
    return call;
  };
  // A phone's group action, refused as WhatsApp refuses it (403 not an admin, 404 no such group...).
  const asPhone = async <T>(act: (admin: GroupAdmin) => T | Promise<T>): Promise<T> => {
    try {
      return await act(sim.groupAdmin);
    } catch (err) {
      if (err instanceof GroupRefusal) throw new Refusal(err.code, `WhatsApp refused: ${err.text}`);
      throw err;
    }
  };
  const online = (users: SimUser[]) => users.flatMap(linked).filter((c) => sim.connectionOf(c)).length;

  return { sim, options, known, linked, linkedOrConflict, knownCall, asPhone, online };
}

export type ControlContext = ReturnType<typeof controlContext>;

/** The simulator itself, its users, their contacts, and pairing as a phone does it. */
function userRoutes({ sim, options, known, linked, online }: ControlContext): Record<string, Handler> {
  return {
    'GET /control': () => ({
      body: {
        wsUrl: sim.url,
        media: { origin: sim.media.origin, caFile: options.caFile ?? null },
        users: sim.directory.users().length,
        faults: sim.faults,
        receiptPolicy: sim.receiptPolicy,
      },
    }),

    'GET /control/users': () => ({
      body: sim.directory.users().map((user) => ({
        ...describeUser(user),
        devices: linked(user).map((c) => ({ deviceId: c.deviceId, online: Boolean(sim.connectionOf(c)) })),
      })),
    }),

    // Creates the user, or updates the name and picture of an existing one (so scripts can rerun).
    'POST /control/users': (body) => {
      const input = parse(schemas.user, body);
      const existing = sim.directory.find(input.phone);
      const user = existing ?? sim.addUser(input.phone, input.name);
      if (existing && input.name) user.name = input.name;
      if (input.pictureUrl) user.pictureUrl = input.pictureUrl;
      if (input.groupAddPrivacy) user.groupAddPrivacy = input.groupAddPrivacy;
      sim.changed();
      return { status: existing ? 200 : 201, body: describeUser(user) };
    },

    // The owner's phone saves a contact; its linked devices learn the name at once (an app-state patch).
    'POST /control/contacts': async (body) => {
      const input = parse(schemas.contact, body);
      known(input.owner);
      known(input.phone);
      await sim.saveContact(input.owner, input.phone, input.name);
      return { body: { success: true } };
    },

    'POST /control/scan': async (body) => {
      const input = parse(schemas.scan, body);
      const companion = await sim.scanQr(input.phone, input.qr).catch((err: Error) => {
        throw new BadRequest(`invalid QR: ${err.message}`);
      });
      return { body: { success: true, deviceId: companion.deviceId, jid: pnJid(input.phone, companion.deviceId) } };
    },

    // The user types the code a device shows on the phone of `phone`: a wrong code fails, the device stays unpaired.
    'POST /control/pair-code': async (body) => {
      const input = parse(schemas.pairCode, body);
      const companion = await sim.enterPairingCode(input.phone, input.code).catch((err: Error) => {
        if (!(err instanceof PairingCodeError)) throw err;
        if (err.kind === 'wrongCode') throw new BadRequest(err.message);
        if (err.kind === 'noDevice') throw new Conflict(err.message);
        throw new Refusal(504, err.message);
      });
      return { body: { success: true, deviceId: companion.deviceId, jid: pnJid(input.phone, companion.deviceId) } };
    },
  };
}

/** Messages a phone sends and what the phones received: texts, presences, receipts, restrictions. */
function messageRoutes({ sim, known, linked, linkedOrConflict, online }: ControlContext): Record<string, Handler> {
  return {
    'POST /control/messages': async (body) => {
      const input = parse(schemas.message, body);
      if (Boolean(input.to) === Boolean(input.group)) throw new BadRequest('give either "to" (a phone) or "group" (a group id)');
      const from = known(input.from);
      if (input.to) {
        const to = known(input.to);
        linkedOrConflict(to);
        return { body: { id: await sendFromPhone(sim, from, to, { conversation: input.body }) } };
      }
      const group = sim.groupRegistry.get(input.group!);
      if (!group) throw new NotFound(`no simulated group ${input.group}`);
      if (!group.participants.includes(from)) throw new Conflict(`${from.phone} is not a member of ${group.id}`);
      return { body: { id: await sim.sendGroupText(from.phone, group.id, input.body) } };
    },

    'GET /control/received': (_body, query) => {
      const input = parse(schemas.received, Object.fromEntries(query));
      const messages = sim.received.filter(
        (m) => (!input.to || m.to === input.to) && (input.since === undefined || m.receivedAt > input.since),
      );
      return { body: messages.map(describeReceived) };
    },

    // Typing, recording and online statuses phones saw from linked devices' accounts (`to` null: account-wide).
    'GET /control/presence': (_body, query) => {
      const input = parse(schemas.seen, Object.fromEntries(query));
      return {
        body: sim.presences.filter(
          (p) =>
            (!input.to || p.to === input.to || p.to === null) &&
            (!input.from || p.from === input.from) &&
            (input.since === undefined || p.at > input.since),
        ),
      };
    },

    // Receipts phones got from linked devices about the messages they sent (a read, a delivery...).
    'GET /control/receipts': (_body, query) => {
      const input = parse(schemas.seen, Object.fromEntries(query));
      return {
        body: sim.deviceReceipts.filter(
          (r) =>
            (!input.to || r.to === input.to) && (!input.from || r.from === input.from) && (input.since === undefined || r.at > input.since),
        ),
      };
    },

    // WhatsApp restricts (or stops restricting) an account's sending: its linked devices are told.
    'POST /control/restriction': async (body) => {
      const { phone: owner, ...restriction } = parse(schemas.restriction, body);
      known(owner);
      await sim.setRestriction(owner, restriction);
      return { body: { success: true, phone: owner, ...restriction } };
    },

    'POST /control/receipts': async (body) => {
      const input = parse(schemas.receipts, body);
      known(input.from);
      const devices = linkedOrConflict(known(input.to));
      // The receipt names the recipient as the device addressed it: by phone number.
      for (const device of devices) await sendReceipt(sim, device, pnJid(input.from), input.ids, input.type);
      return { body: { deviceIds: devices.map((d) => d.deviceId) } };
    },

    'PUT /control/receipt-policy': (body) => {
      sim.receiptPolicy = parse(schemas.policy, body).policy;
      return { body: { receiptPolicy: sim.receiptPolicy } };
    },
  };
}

/** Connections: logging a device out, faults, dropping and restarting. */
function connectionRoutes({ sim, known, linked, linkedOrConflict, online }: ControlContext): Record<string, Handler> {
  return {
    'POST /control/logout': async (body) => {
      const input = parse(schemas.logout, body);
      const devices = linkedOrConflict(known(input.phone)).filter((c) => input.deviceId === undefined || c.deviceId === input.deviceId);
      if (!devices.length) throw new NotFound(`${input.phone} has no linked device ${input.deviceId}`);
      await sim.removeDevice(input.phone, input.deviceId);
      return { body: { removed: devices.map((d) => d.deviceId) } };
    },

    'POST /control/faults': (body) => {
      Object.assign(sim.faults, parse(schemas.faults, body));
      return { body: sim.faults };
    },

    'POST /control/deafen': (body) => {
      const input = parse(schemas.onePhone, body);
      if (!input.phone) throw new BadRequest('phone is required');
      known(input.phone);
      return { body: { deafened: sim.deafen(input.phone) } };
    },

    'POST /control/drop': (body) => {
      const input = parse(schemas.onePhone, body);
      if (input.phone) known(input.phone);
      return { body: { dropped: sim.dropConnections(input.phone) } };
    },

    'POST /control/restart': async (body) => {
      const input = parse(schemas.onePhone, body);
      const restarted = online(input.phone ? [known(input.phone)] : sim.directory.users());
      await sim.restartConnections(input.phone);
      return { body: { restarted } };
    },
  };
}

/** A refusal with a status of its own: the simulator answers `{ error }` alone, no code of the gateway's catalogue (lib/errorCodes.ts). */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function handle(routes: Record<string, Handler>, req: IncomingMessage, res: ServerResponse): Promise<void> {
  try {
    const url = new URL(req.url ?? '/', 'http://simulator');
    const route = routes[`${req.method} ${url.pathname.replace(/(.)\/+$/, '$1')}`];
    if (!route) throw new NotFound(`no route ${req.method} ${url.pathname}`);
    const { status = 200, body } = await route(await readJson(req), url.searchParams);
    send(res, status, body);
  } catch (err) {
    const status = err instanceof HttpError || err instanceof Refusal ? err.status : 500;
    send(res, status, { error: err instanceof Error ? err.message : String(err) });
  }
}

/** The request body as JSON; an empty body counts as `{}`. */
async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new PayloadTooLarge();
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (!text) return {};
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequest('request body is not valid JSON');
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

const describeUser = (user: SimUser) => ({ phone: user.phone, lid: user.lid, name: user.name });

/** A received message as JSON: no Buffers, the text and content kind pulled out for scripts. */
function describeReceived(m: ReceivedMessage) {
  const { message, media } = m;
  return {
    id: m.id,
    to: m.to,
    from: m.from,
    fromDevice: m.fromDevice,
    stanzaType: m.stanzaType,
    ownCopy: m.ownCopy,
    group: m.group ?? null,
    receivedAt: m.receivedAt,
    kind: getContentType(message) ?? null,
    text: message.conversation ?? message.extendedTextMessage?.text ?? null,
    media: media
      ? {
          mimetype: media.mimetype,
          size: media.bytes.length,
          sha256: createHash('sha256').update(media.bytes).digest('hex'),
          ...(media.fileName ? { fileName: media.fileName } : {}),
          ...(media.caption ? { caption: media.caption } : {}),
        }
      : null,
    ...(m.mediaError ? { mediaError: m.mediaError } : {}),
    ...(m.edits ? { edits: m.edits } : {}),
    ...(m.revoked ? { revoked: true } : {}),
  };
}
