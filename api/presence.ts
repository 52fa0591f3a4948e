/**
 * `.../presence`: what the account shows. `composing`, `recording` and
 * `paused` are shown in one chat (WhatsApp's `<chatstate>`); `available` and
 * `unavailable` are the account's online status (`<presence>`), for every
 * chat. Sent live through the worker holding the socket; nothing is stored.
 */
import { Router } from 'express';
import { z } from 'zod';
import { callSession, type SessionCallDeps } from '../temporal/sessionCalls.js';
import { BadRequest } from '../lib/errors.js';
import type { PresenceState } from '../whatsapp/session.js';
import { instanceOf } from './instances.js';
import { route } from './route.js';
import { jid } from './schemas.js';

const STATES = ['composing', 'recording', 'paused', 'available', 'unavailable'] as const satisfies readonly PresenceState[];
const IN_A_CHAT: ReadonlySet<PresenceState> = new Set(['composing', 'recording', 'paused']);

const presenceBody = z.object({
  to: jid().optional(),
  state: z.enum(STATES, { error: `state must be one of ${STATES.join(', ')}` }),
});

export function presenceRouter({ temporal, taskQueue }: SessionCallDeps): Router {
  const router = Router({ mergeParams: true });
  router.post(
    '/',
    route({ body: presenceBody }, async ({ body }, _req, res) => {
      const inChat = IN_A_CHAT.has(body.state);
      if (inChat && !body.to) throw new BadRequest(`to is required: ${body.state} is shown in one chat`);
      const to = inChat ? body.to : undefined;
      await callSession(temporal, taskQueue, instanceOf(res).id, 'sendPresence', body.state, to);
      return { success: true, state: body.state, to: to ?? null };
    }),
  );
  return router;
}
