/** Field schemas shared by the routers (route() names the field in every error). */
import { z } from 'zod';
import { isGroupJid, toJid } from '../lib/recipients.js';

/** A recipient or chat as the contract accepts it (phone number, user JID, group JID), normalised to its JID. */
export const jid = () =>
  z
    .string()
    .transform(
      (value, ctx) =>
        toJid(value) ??
        (ctx.addIssue({ code: 'custom', message: 'must be a phone number in international form, a user JID or a group JID' }), z.NEVER),
    );

export const userJid = () => jid().refine((value) => !isGroupJid(value), 'must be a user, not a group');

export const groupJid = () => jid().refine(isGroupJid, 'must be a group JID (…@g.us)');
