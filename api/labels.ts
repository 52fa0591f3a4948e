/**
 * Labels of a WhatsApp Business account: `GET/POST .../labels`,
 * `PUT/DELETE .../labels/{labelId}`, and `POST .../chats/labels` to put one
 * on a chat or take it off. Each change goes to WhatsApp first (an app-state
 * patch, so the phone shows it), then is stored with a `label_update` event.
 */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { applyLabelChanges, getLabel, listLabels, nextLabelId } from '../db/labels.js';
import type { Label } from '../whatsapp/session.js';
import { NotFound } from '../lib/errors.js';
import { callSession, type SessionCallDeps } from '../temporal/sessionCalls.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { jid } from './schemas.js';

/** WhatsApp's label palette has 20 colours. */
const MAX_COLOR = 19;
const name = z.string().trim().min(1, 'name must not be empty').max(100, 'name must be at most 100 characters');
const color = z
  .number({ error: `color must be a number from 0 to ${MAX_COLOR}` })
  .int(`color must be a whole number from 0 to ${MAX_COLOR}`)
  .min(0, `color must be 0 to ${MAX_COLOR}`)
  .max(MAX_COLOR, `color must be 0 to ${MAX_COLOR}`);
const labelParams = z.object({ labelId: z.string().min(1).max(64) });

type Deps = { db: Db } & SessionCallDeps;

export function labelsRouter({ db, temporal, taskQueue }: Deps): Router {
  const router = Router({ mergeParams: true });
  /** New labels of an instance are numbered one at a time in this process. */
  const numbering = new Map<string, Promise<unknown>>();

  router.get(
    '/',
    route({}, async (_input, _req, res) => listLabels(db, instanceOf(res).id)),
  );

  router.post(
    '/',
    route({ body: z.object({ name, color: color.default(0) }) }, async ({ body }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const create = async () => {
        const label = { id: await nextLabelId(db, instanceId), name: body.name, color: body.color };
        await editLabel(instanceId, label);
        return label;
      };
      const created = (numbering.get(instanceId) ?? Promise.resolve()).catch(() => undefined).then(create);
      numbering.set(instanceId, created);
      return created;
    }),
  );

  router.put(
    '/:labelId',
    route(
      {
        params: labelParams,
        body: z.object({ name: name.optional(), color: color.optional() }).refine((b) => b.name !== undefined || b.color !== undefined, {
          message: 'name or color is required',
        }),
      },
      async ({ params, body }, _req, res) => {
        const instanceId = instanceOf(res).id;
        const current = await known(instanceId, params.labelId);
        const label = { id: current.id, name: body.name ?? current.name, color: body.color ?? Number(current.color) };
        await editLabel(instanceId, label);
        return label;
      },
    ),
  );

  router.delete(
    '/:labelId',
    route({ params: labelParams }, async ({ params }, _req, res) => {
      const instanceId = instanceOf(res).id;
      const current = await known(instanceId, params.labelId);
      const label = { id: current.id, name: current.name, color: Number(current.color), deleted: true };
      await editLabel(instanceId, label);
      return { success: true };
    }),
  );

  /** A label made, changed or deleted on WhatsApp (so the phone shows it), then here. */
  async function editLabel(instanceId: string, label: Label): Promise<void> {
    await callSession(temporal, taskQueue, instanceId, 'editLabel', label);
    await applyLabelChanges(db, instanceId, [{ kind: 'label', ...label }], 'api');
  }

  async function known(instanceId: string, labelId: string) {
    const label = await getLabel(db, instanceId, labelId);
    if (!label) throw new NotFound(`no label ${labelId} on this account`, 'LABEL_NOT_FOUND');
    return label;
  }

  return router;
}

/** `POST .../chats/labels { chatId, labelId, action }`: puts a label on a chat (`add`) or takes it off (`remove`). */
export function chatLabelRoute({ db, temporal, taskQueue }: Deps) {
  return route(
    {
      body: z.object({
        chatId: jid(),
        labelId: z.string().min(1, 'labelId must not be empty').max(64),
        action: z.enum(['add', 'remove'], { error: 'action must be add or remove' }),
      }),
    },
    async ({ body }, _req, res) => {
      const instanceId = instanceOf(res).id;
      if (!(await getLabel(db, instanceId, body.labelId)))
        throw new NotFound(`labelId: no label ${body.labelId} on this account`, 'LABEL_NOT_FOUND');
      const labeled = body.action === 'add';
      await callSession(temporal, taskQueue, instanceId, 'labelChat', body.chatId, body.labelId, labeled);
      await applyLabelChanges(db, instanceId, [{ kind: 'chat', chatId: body.chatId, labelId: body.labelId, labeled }], 'api');
      return { success: true, chatId: body.chatId, labelId: body.labelId, action: body.action };
    },
  );
}
