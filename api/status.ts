/**
 * Statuses (stories): `POST .../status/text`, `/image`, `/video` post to the
 * account's status through the outbox, as sends do, for its saved contacts or
 * a given list; `GET .../status/list` lists the contacts' statuses and its own
 * (`GET .../status` is the connection's status, as the contract has it).
 */
import { Router, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import { savedContactIds } from '../db/contacts.js';
import { statusPage } from '../db/history.js';
import { STATUS_CHAT } from '../domain/recipients.js';
import { BadRequest } from '../lib/errors.js';
import { instanceOf } from './instances.js';
import { presentMessage } from './messages.js';
import { route } from './route.js';
import { jid, userJid } from './schemas.js';
import { sendHandler, type SendDeps, type SendRequest } from './send.js';

/** WhatsApp shows a text status of up to 700 characters. */
const MAX_STATUS_TEXT = 700;
const MAX_AUDIENCE = 5_000;

const audience = z
  .array(userJid(), { error: 'to must be a list of phone numbers or user JIDs' })
  .min(1, 'to must not be empty (leave it out to post to all saved contacts)')
  .max(MAX_AUDIENCE, `to takes at most ${MAX_AUDIENCE} recipients`)
  .transform((to) => [...new Set(to)]);
const source = (field: string) => z.string().min(1, `${field} must not be empty`);
const caption = z.string().max(4_096).optional();

const endpoints: Record<string, z.ZodType<SendRequest>> = {
  text: z
    .object({
      body: z.string().min(1, 'body must not be empty').max(MAX_STATUS_TEXT, `body must be at most ${MAX_STATUS_TEXT} characters`),
      backgroundColor: z
        .string()
        .regex(/^#[0-9a-fA-F]{6}([0-9a-fA-F]{2})?$/, 'backgroundColor must be a colour such as #1f7a4d')
        .optional(),
      font: z.number().int('font must be a whole number').min(0).max(9, 'font must be 0 to 9').optional(),
      to: audience,
    })
    .transform((b): SendRequest => ({
      to: STATUS_CHAT,
      content: { type: 'status_text', body: b.body, backgroundColor: b.backgroundColor, font: b.font, audience: b.to },
    })),
  image: z.object({ image: source('image'), caption, to: audience }).transform((b): SendRequest => ({
    to: STATUS_CHAT,
    source: b.image,
    field: 'image',
    content: { type: 'status_image', caption: b.caption, audience: b.to },
  })),
  video: z.object({ video: source('video'), caption, to: audience }).transform((b): SendRequest => ({
    to: STATUS_CHAT,
    source: b.video,
    field: 'video',
    content: { type: 'status_video', caption: b.caption, audience: b.to },
  })),
};

const listQuery = z.object({
  from: jid().optional(),
  limit: z.coerce.number({ error: 'limit must be a number' }).int().min(1).max(1_000).default(50),
  page: z.coerce.number({ error: 'page must be a number' }).int().min(1).max(1_000_000).default(1),
});

export function statusRouter(deps: SendDeps): Router {
  const router = Router({ mergeParams: true });
  for (const [name, schema] of Object.entries(endpoints)) {
    router.post(`/${name}`, allContactsUnlessGiven(deps), sendHandler(deps, `status_${name}`, schema));
  }
  // `GET .../status` is the contract's connection status: the statuses are listed beside the routes that post them.
  router.get(
    '/list',
    route({ query: listQuery }, async ({ query }, _req, res) => {
      const { rows, total } = await statusPage(deps.db, instanceOf(res).id, { from: query.from }, query.limit, query.page);
      // A status shows for 24 hours.
      const statuses = rows.map((row) => ({ ...presentMessage(row), expiresAt: Number(row.timestamp) + 86_400 }));
      return { statuses, total, page: query.page, limit: query.limit };
    }),
  );
  return router;
}

/** A status without `to` goes to every contact saved in the account's address book, as "My contacts" on a phone. */
function allContactsUnlessGiven(deps: SendDeps) {
  return (req: Request, res: Response, next: NextFunction) => {
    const body = req.body as Record<string, unknown> | undefined;
    if (!body || typeof body !== 'object' || Array.isArray(body) || body.to !== undefined) return next();
    savedContactIds(deps.db, instanceOf(res).id).then((contacts) => {
      if (contacts.length === 0) {
        return next(new BadRequest('to: the account has no saved contacts to post to; give the recipients in `to`'));
      }
      req.body = { ...body, to: contacts };
      next();
    }, next);
  };
}
