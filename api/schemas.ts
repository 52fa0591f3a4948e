/** Field schemas shared by the routers (route() names the field in every error). */
import { z } from 'zod';
import { isChannelJid, isGroupJid, localNumber, toJid } from '../domain/recipients.js';
import { MAX_TYPING_MS } from '../domain/typing.js';

/** A recipient or chat as the contract accepts it (phone number, user JID, group JID), normalised to its JID. */
export const jid = () =>
  z
    .string()
    .meta({
      description:
        'A phone number in international form (905551234567 or +905551234567), a user JID (…@s.whatsapp.net, …@c.us) or a group JID (…@g.us)',
      examples: ['905551234567'],
    })
    .transform((value, ctx) => {
      const local = localNumber(value);
      if (local) {
        ctx.addIssue({
          code: 'custom',
          message: `${local} is written the local way: give it with its country code, in international form (e.g. 90${local.slice(1)} for Turkey)`,
        });
        return z.NEVER;
      }
      return (
        toJid(value) ??
        (ctx.addIssue({ code: 'custom', message: 'must be a phone number in international form, a user JID or a group JID' }), z.NEVER)
      );
    });

/** Where a message may go: what `jid()` takes, or a channel (…@newsletter) the account posts to. */
export const recipient = () =>
  z.string().transform((value, ctx) => {
    if (isChannelJid(value.trim())) return value.trim();
    const parsed = jid().safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) ctx.addIssue({ code: 'custom', message: issue.message });
    return z.NEVER;
  });

export const userJid = () => jid().refine((value) => !isGroupJid(value), 'must be a user, not a group');

export const groupJid = () => jid().refine(isGroupJid, 'must be a group JID (…@g.us)');

/** What campaigns and scheduled messages send (domain/content.ts: MessageTemplate), as their requests give it. */
export const templateFields = {
  messageType: z.enum(['text', 'image', 'document'], { error: 'must be text, image or document' }).default('text'),
  body: z.string().min(1, 'body must not be empty').max(65_536).optional(),
  mediaUrl: z.string().min(1, 'mediaUrl must not be empty').max(8_192).optional(),
  filename: z.string().min(1).max(255).optional(),
};

/** Text needs a body; an image or a document needs its mediaUrl (and may have a body, its caption). */
export const requireContent = <T extends { messageType: string; body?: string; mediaUrl?: string }>(b: T, ctx: z.RefinementCtx) => {
  if (b.messageType === 'text' && !b.body) ctx.addIssue({ code: 'custom', path: ['body'], message: 'body is required for a text message' });
  if (b.messageType !== 'text' && !b.mediaUrl)
    ctx.addIssue({
      code: 'custom',
      path: ['mediaUrl'],
      message: `mediaUrl is required for ${b.messageType === 'image' ? 'an image' : 'a document'}`,
    });
};

/** An ISO 8601 time with a zone; a missing one keeps zod's wording, which route() reports as "<field> is required". */
export const isoTime = (example = '2026-12-24T09:00:00+03:00') =>
  z.iso
    .datetime({
      offset: true,
      error: (issue) => (issue.input === undefined ? undefined : `must be an ISO 8601 time with a zone, e.g. ${example}`),
    })
    .transform((v) => new Date(v));

/** Instance ids: letters, digits, `_` and `-`, at most 64 characters. */
export const instanceIdSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/, 'must be 1-64 letters, digits, "_" or "-"');

/** How long the recipient sees "composing" ("recording" before a voice note) before a message goes (domain/typing.ts). */
export const typingMs = () =>
  z
    .number({ error: 'typingMs must be a number of milliseconds' })
    .int('typingMs must be a whole number of milliseconds')
    .min(0, `typingMs must be between 0 and ${MAX_TYPING_MS} ms`)
    .max(MAX_TYPING_MS, `typingMs must be between 0 and ${MAX_TYPING_MS} ms`)
    .optional();

/**
 * Whether a person wrote this send (a shop's staff, from their own system or the dashboard): like a message
 * from the phone, it pauses the chatbot in the chat. Sends are automated by default and leave the bot answering.
 */
export const byPerson = () =>
  z.boolean({ error: 'must be true or false' }).optional().meta({
    description:
      'Written by a person (your staff): pauses the chatbot in this chat, as a message from the phone does. Default false: an automated send, the bot keeps answering',
  });
