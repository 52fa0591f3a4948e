import { randomBytes } from 'node:crypto';
import { Router, type RequestHandler } from 'express';
import QRCode from 'qrcode';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { clearMessages, createInstance, deleteInstance, getInstance, listInstances, type InstanceRow } from '../db/instances.js';
import { findLease } from '../db/leases.js';
import { clearSessionAuth } from '../db/authStore.js';
import { recordConnection } from '../db/instances.js';
import { BadRequest, Conflict, NotFound } from '../lib/errors.js';
import type { SessionControl } from '../temporal/sessions.js';
import type { ConnectionStatus } from '../whatsapp/session.js';
import type { MediaStore } from '../media/store.js';
import { instanceIdSchema, route } from './route.js';
import { restrictionsOf } from '../db/restrictions.js';
import { accessOf, adminOnly } from './middleware/auth.js';

export interface InstanceDeps {
  db: Db;
  sessions: SessionControl;
  heartbeatTimeoutSeconds: number;
  media: MediaStore;
}

/** The instance of an instance-scoped request (loaded by loadInstance). */
export const instanceOf = (res: { locals: Record<string, unknown> }) => res.locals.instance as InstanceRow;

/** Loads `:instanceId` for every instance-scoped route: 400 when malformed, 404 when unknown. */
export function loadInstance(db: Db): RequestHandler {
  return async (req, res, next) => {
    const parsed = instanceIdSchema.safeParse(req.params.instanceId);
    if (!parsed.success) throw new BadRequest(`instanceId: ${parsed.error.issues[0]!.message}`, 'INVALID_INSTANCE_ID');
    const instance = await getInstance(db, parsed.data);
    if (!instance) throw new NotFound(`instance ${parsed.data} not found`, 'INSTANCE_NOT_FOUND');
    res.locals.instance = instance;
    next();
  };
}

const createBody = z.object({
  id: instanceIdSchema.optional(),
  description: z.string().max(500).optional(),
});

/** `GET/POST /api/instance`: the collection. */
export function instanceCollectionRouter({ db, heartbeatTimeoutSeconds }: InstanceDeps): Router {
  const router = Router();
  router.get(
    '/',
    route({}, async (_input, _req, res) => {
      // An instance token sees its own instance only.
      const access = accessOf(res);
      const instances = (await listInstances(db)).filter((i) => access.admin || i.id === access.instanceId);
      const statuses: Record<string, { accountStatus: { status: ConnectionStatus } }> = {};
      for (const instance of instances) {
        statuses[instance.id] = { accountStatus: { status: await effectiveStatus(db, instance, heartbeatTimeoutSeconds) } };
      }
      return { instances: instances.map((i) => i.id), statuses };
    }),
  );
  router.post(
    '/',
    adminOnly,
    route({ body: createBody }, async ({ body }) => {
      const id = body.id ?? `inst_${randomBytes(4).toString('hex')}`;
      if (!(await createInstance(db, id, body.description))) throw new Conflict(`instance ${id} already exists`, 'INSTANCE_EXISTS');
      return { success: true, instanceId: id };
    }),
  );
  return router;
}

/** `/api/instance/:instanceId/...`: one instance's lifecycle. */
export function instanceRouter({ db, sessions, heartbeatTimeoutSeconds, media }: InstanceDeps): Router {
  const router = Router({ mergeParams: true });

  router.delete(
    '/',
    route({}, async (_input, _req, res) => {
      const { id } = instanceOf(res);
      // Log the device out of WhatsApp if a session runs, then drop every trace of the instance.
      if (await sessions.stop(id, { logout: true })) await sessions.awaitEnd(id, 10_000);
      await sessions.cancelInstanceWorkflows(id);
      // Files before rows: a bucket that does not answer leaves the instance there to delete again, not orphaned objects.
      await media.removeAll(id);
      await deleteInstance(db, id);
      return { success: true };
    }),
  );

  router.get(
    '/status',
    route({}, async (_input, _req, res) => {
      const instance = instanceOf(res);
      const status = await effectiveStatus(db, instance, heartbeatTimeoutSeconds);
      return {
        // Why a session that is not open failed to connect last (a proxy refusing the credentials, say).
        accountStatus: { status, ...(status !== 'open' && instance.last_error ? { lastError: instance.last_error } : {}) },
        // WhatsApp's limits on the account's sending (null: never reported).
        restrictions: await restrictionsOf(db, instance.id),
      };
    }),
  );

  router.get(
    '/qr',
    route({}, async (_input, _req, res) => qrBody(db, instanceOf(res), heartbeatTimeoutSeconds)),
  );

  router.get(
    '/qrcode',
    route({}, async (_input, _req, res) => {
      const instance = instanceOf(res);
      const status = await effectiveStatus(db, instance, heartbeatTimeoutSeconds);
      if (!instance.qr || status === 'open') return { qrCode: null, status };
      res.type('image/png').setHeader('Cache-Control', 'no-store');
      res.send(await QRCode.toBuffer(instance.qr, { type: 'png', margin: 2, width: 320 }));
      return undefined;
    }),
  );

  router.get(
    '/me',
    route({}, async (_input, _req, res) => {
      const instance = instanceOf(res);
      if (!instance.account) throw new Conflict(`instance ${instance.id} has no WhatsApp account linked yet`, 'NOT_CONNECTED');
      return instance.account;
    }),
  );

  router.post(
    '/connect',
    route({}, async (_input, _req, res) => {
      await sessions.connect(instanceOf(res).id, { disconnected: instanceOf(res).status === 'disconnected' });
      return { success: true };
    }),
  );

  router.post(
    '/restart',
    route({}, async (_input, _req, res) => {
      await sessions.restart(instanceOf(res).id);
      return { success: true, message: 'Restarting...' };
    }),
  );

  router.post(
    '/logout',
    route({}, async (_input, _req, res) => {
      const { id } = instanceOf(res);
      if (!(await sessions.stop(id, { logout: true }))) {
        // No live session to tell WhatsApp through: the stored credentials become void here.
        await clearSessionAuth(db, id);
        await recordConnection(db, id, { status: 'disconnected', qr: null, account: null });
      }
      return { success: true };
    }),
  );

  router.post(
    '/clear',
    route({}, async (_input, _req, res) => {
      await clearMessages(db, instanceOf(res).id);
      return { success: true };
    }),
  );

  return router;
}

/**
 * The stored status, unless the worker that reported it has stopped
 * heartbeating: then the session is being taken over and is `connecting`.
 */
async function effectiveStatus(db: Db, instance: InstanceRow, heartbeatTimeoutSeconds: number): Promise<ConnectionStatus> {
  if (instance.status === 'disconnected') return 'disconnected';
  const lease = await findLease(db, instance.id);
  const fresh = lease && Date.now() - new Date(lease.heartbeat_at).getTime() < heartbeatTimeoutSeconds * 1000;
  return fresh ? instance.status : 'connecting';
}

async function qrBody(db: Db, instance: InstanceRow, heartbeatTimeoutSeconds: number) {
  const status = await effectiveStatus(db, instance, heartbeatTimeoutSeconds);
  const qrCode = instance.qr && status !== 'open' ? await QRCode.toDataURL(instance.qr, { margin: 2, width: 320 }) : null;
  return { qrCode, status };
}
