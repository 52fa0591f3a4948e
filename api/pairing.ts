/** Pairing by phone-number code (`.../pairing-code`): for servers where scanning the QR is awkward. */
import { Router } from 'express';
import { z } from 'zod';
import { Conflict, HttpError, Unavailable } from '../lib/errors.js';
import { callSession, type SessionCallDeps } from '../temporal/sessionCalls.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';

const pairingCodeBody = z.object({
  phone: z
    .string()
    .transform((v) => v.replace(/[\s()+-]/g, ''))
    .pipe(z.string().regex(/^[1-9]\d{6,14}$/, 'must be the phone number to pair, in international form without a leading 0 (905551234567)'))
    .meta({ description: 'The WhatsApp number of the phone the code is typed on, with country code', example: '905551234567' }),
});

export function pairingCodeRouter({ temporal, taskQueue }: SessionCallDeps): Router {
  const router = Router({ mergeParams: true });
  router.post(
    '/',
    route({ body: pairingCodeBody }, async ({ body }, _req, res) => {
      const instance = instanceOf(res);
      if (instance.account || instance.status === 'open')
        throw new Conflict(`instance ${instance.id} is paired already (log it out first to pair another number)`, 'ALREADY_PAIRED');
      if (instance.status === 'disconnected')
        throw new Conflict(`instance ${instance.id} is not connecting: start it with POST .../connect first`, 'NOT_CONNECTING');
      try {
        return { code: await callSession(temporal, taskQueue, instance.id, 'requestPairingCode', body.phone) };
      } catch (err) {
        // Connecting, but no worker holds the socket yet (the session is starting): worth another try soon.
        if (err instanceof HttpError && err.code === 'NOT_CONNECTED')
          throw new Unavailable(`instance ${instance.id} is not waiting for a pairing yet; try again in a few seconds`, 'NOT_CONNECTING');
        throw err;
      }
    }),
  );
  return router;
}
