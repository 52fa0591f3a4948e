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

export const isGroupJid = (jid: string) => jid.endsWith('@g.us');

/** The phone number of a user JID (`905xx@s.whatsapp.net` → `905xx`). */
export const phoneOf = (jid: string) => jid.split(/[@:]/)[0]!;
