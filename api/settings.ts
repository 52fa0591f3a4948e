/** `GET/POST/PUT .../settings`: webhook URL, switch and secret, the delay between an instance's sends, the proxy... */
import { Router } from 'express';
import type { Client } from '@temporalio/client';
import type { Db } from '../db/knex.js';
import type { Logger } from '../lib/logger.js';
import { getSettings, maskProxyUrl, maskSecret, settingsPatchSchema, updateSettings } from '../db/settings.js';
import { wakeWebhooks } from '../temporal/starts.js';
import type { TaskQueues } from '../workflows/names.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';

export interface SettingsDeps {
  db: Db;
  temporal: Client;
  queues: TaskQueues;
  logger: Logger;
}

export function settingsRouter({ db, temporal, queues, logger }: SettingsDeps): Router {
  const router = Router({ mergeParams: true });

  router.get(
    '/',
    route({}, async (_input, _req, res) => {
      const settings = await getSettings(db, instanceOf(res).id);
      // Values as strings, as the original API returns them; the secret never in full.
      return {
        webhookUrl: settings.webhookUrl ?? '',
        webhookEnabled: String(settings.webhookEnabled),
        webhookSecret: maskSecret(settings.webhookSecret),
        sendDelay: String(settings.sendDelayMs),
        optOutKeywords: settings.optOutKeywords.join(','),
        chatbotEnabled: String(settings.chatbotEnabled),
        chatbotPauseMinutes: String(settings.chatbotPauseMinutes),
        chatbotRepliesPerMinute: String(settings.chatbotRepliesPerMinute),
        timezone: settings.timezone,
        rejectCalls: String(settings.rejectCalls),
        rejectCallsMessage: settings.rejectCallsMessage ?? '',
        keepRevokedMessages: String(settings.keepRevokedMessages),
        // The password never shown: `socks5://user:****@host:1080`.
        proxyUrl: maskProxyUrl(settings.proxyUrl),
      };
    }),
  );

  const update = route({ body: settingsPatchSchema }, async ({ body }, _req, res) => {
    const { id } = instanceOf(res);
    const settings = await updateSettings(db, id, body);
    const webhookChanged = body.webhookUrl !== undefined || body.webhookEnabled !== undefined || body.webhookSecret !== undefined;
    if (webhookChanged && settings.webhookEnabled && settings.webhookUrl) {
      // A fixed or re-enabled webhook is tried at once, even if its receiver was failing. Should Temporal be
      // down, the workers' sweep starts delivery within a minute.
      wakeWebhooks(temporal, queues, id, { now: true }).catch((err) =>
        logger.warn({ err, instanceId: id }, 'waking webhook delivery failed'),
      );
    }
    return { success: true };
  });
  router.post('/', update);
  router.put('/', update);
  return router;
}
