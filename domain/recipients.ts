/**
 * Recipients as the contract accepts them: a phone number in international
 * form with or without `+`, a user JID (`@s.whatsapp.net` or `@c.us`) or a
 * group JID (`@g.us`). Everything becomes a JID; anything else is rejected.
 */
export function toJid(recipient: string): string | undefined {
  const value = recipient.trim();
  const phone = value.replace(/[\s()-]/g, '').match(/^\+?(\d{7,15})$/);
  if (phone) return `${phone[1]}@s.whatsapp.net`;
  const user = value.match(/^(\d{7,15})@(s\.whatsapp\.net|c\.us)$/);
  if (user) return `${user[1]}@s.whatsapp.net`;
  const group = value.match(/^(\d{5,20}(?:-\d{5,20})?)@g\.us$/);
  if (group) return `${group[1]}@g.us`;
  return undefined;
}

/**
 * A phone number written the local way, with the trunk prefix 0 and no
 * country code (`05550000002`, `0555 000 00 03`): WhatsApp cannot know which
 * country it is in, and taken as international it names someone else or no
 * one. Undefined for anything else (`00…`, the international prefix, is not
 * local).
 */
export function localNumber(recipient: string): string | undefined {
  const digits = recipient.trim().replace(/[\s()-]/g, '');
  return /^0[1-9]\d{5,13}$/.test(digits) ? digits : undefined;
}

export const isGroupJid = (jid: string) => jid.endsWith('@g.us');

/** A chat with one person (by number or LID): not a group, a status broadcast or a channel. */
export const isOneToOne = (jid: string) => /@(s\.whatsapp\.net|lid)$/.test(jid);

/** A channel (newsletter): `…@newsletter`. */
export const isChannelJid = (jid: string) => /^\d{5,30}@newsletter$/.test(jid);

/** Where statuses (stories) go and come from: the "chat" of a status. */
export const STATUS_CHAT = 'status@broadcast';

/** Statuses and channels' posts: kept as messages, but no chat (no chat row, no bot, no number to look up). */
export const isChatless = (jid: string) => jid === STATUS_CHAT || isChannelJid(jid);

/** The phone number of a user JID (`905xx@s.whatsapp.net` → `905xx`). */
export const phoneOf = (jid: string) => jid.split(/[@:]/)[0]!;
