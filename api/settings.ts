/** `GET/POST/PUT .../settings`: webhook URL and switch, and the delay between an instance's sends. */
import { Router } from 'express';
import { z } from 'zod';
import type { Db } from '../db/knex.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';

const booleanLike = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'must be true or false' });

const settingsBody = z.object({
  webhookUrl: z
    .string()
    .max(2_048)
    .refine((v) => v === '' || /^https?:\/\/[^\s]+$/.test(v), 'must be an http(s) URL (or "" to remove it)')
    .optional(),
  webhookEnabled: booleanLike.optional(),
  sendDelay: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(0).max(3_600_000).optional(),
});

export function settingsRouter({ db }: { db: Db }): Router {
  const router = Router({ mergeParams: true });

  router.get(
    '/',
    route({}, async (_input, _req, res) => {
      const row = await db('instance_settings')
        .where({ instance_id: instanceOf(res).id })
        .first();
      // Values as strings, as the original API returns them.
      return {
        webhookUrl: row?.webhook_url ?? '',
        webhookEnabled: String(row?.webhook_enabled ?? false),
        sendDelay: String(row?.send_delay_ms ?? 0),
      };
    }),
  );

  const update = route({ body: settingsBody }, async ({ body }, _req, res) => {
    const patch: Record<string, unknown> = {};
    if (body.webhookUrl !== undefined) patch.webhook_url = body.webhookUrl || null;
    if (body.webhookEnabled !== undefined) patch.webhook_enabled = body.webhookEnabled;
    if (body.sendDelay !== undefined) patch.send_delay_ms = body.sendDelay;
    if (Object.keys(patch).length > 0) {
      await db('instance_settings')
        .insert({ instance_id: instanceOf(res).id, ...patch })
        .onConflict('instance_id')
        .merge(patch);
    }
    return { success: true };
  });
  router.post('/', update);
  router.put('/', update);
  return router;
}
