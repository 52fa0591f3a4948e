/**
 * What a send may be about, checked before it is accepted: the message a
 * reaction, a delete or an edit names, and the channel a post goes to.
 * Otherwise the send would be answered as done while WhatsApp ignores it.
 */
import type { Db } from '../db/knex.js';
import { getMessage, type MessageRow } from '../db/messages.js';
import { groupParticipants } from '../db/directory.js';
import { getChannel } from '../db/channels.js';
import type { InstanceRow } from '../db/instances.js';
import { isGroupJid } from '../domain/recipients.js';
import { BadRequest, NotFound } from '../lib/errors.js';

/** How long after sending WhatsApp lets a message be edited. */
export const EDIT_WINDOW_MS = 15 * 60_000;
const EDITABLE_TYPES = new Set(['chat', 'image', 'video', 'document']);

/**
 * A reaction, a delete or an edit names a message of the instance in that
 * chat; a delete for everyone, one that WhatsApp lets the account delete: its
 * own, or in a group the account administers a member's; an edit, the
 * account's own text or caption, sent within the last 15 minutes. Otherwise
 * the send would be answered as done while WhatsApp ignores it.
 */
export async function checkTarget(
  db: Db,
  instance: InstanceRow,
  to: string,
  content: { type: 'reaction' | 'delete' | 'edit'; messageId: string },
) {
  const id = content.messageId;
  const target = await getMessage(db, instance.id, id);
  if (!target) throw new NotFound(`msgId: no message ${id} in this instance`, 'MESSAGE_NOT_FOUND');
  // A chat known only by its LID may be named by phone number in the request.
  if (target.chat_id !== to && !target.chat_id.endsWith('@lid'))
    throw new BadRequest(`msgId: message ${id} is in chat ${target.chat_id}, not ${to}`);
  if (target.status === 'failed') throw new BadRequest(`msgId: message ${id} was never sent`);
  if (content.type === 'edit') return checkEditable(target);
  if (content.type === 'reaction' || target.from_me) return;
  if (!isGroupJid(to)) {
    throw new BadRequest(
      `msgId: message ${id} is the contact's: WhatsApp deletes only your own messages for everyone (and members' ones in a group you administer)`,
    );
  }
  const participants = await groupParticipants(db, instance.id, to);
  const me = participants?.find((p) => p.id.split(/[@:]/)[0] === instance.account?.phone);
  // Without the account among the members it knows of, the gateway cannot tell: WhatsApp decides.
  if (me && !me.admin) throw new BadRequest(`msgId: message ${id} is another member's: only the group's admins can delete it for everyone`);
}

/** A post to a channel: the account must own (or administer) it, or WhatsApp refuses it. */
export async function checkChannel(db: Db, instance: InstanceRow, id: string): Promise<void> {
  const channel = await getChannel(db, instance.id, id);
  if (!channel) throw new BadRequest(`to: channel ${id} is not one of the account's (create it, or follow it, first)`);
  if (channel.role !== 'owner' && channel.role !== 'admin')
    throw new BadRequest(`to: the account follows channel ${id} but does not own it: only its owner and admins post to it`);
}

function checkEditable(target: MessageRow): void {
  const refuse = (why: string) => {
    throw new BadRequest(`msgId: message ${target.id} ${why}`, 'NOT_EDITABLE');
  };
  if (!target.from_me) refuse("is the contact's: WhatsApp lets you edit only your own messages");
  if (!EDITABLE_TYPES.has(target.type))
    refuse(`is a ${target.type} message: only texts and the captions of images, videos and documents can be edited`);
  if (target.revoked_at) refuse('was deleted');
  if (target.status === 'pending') refuse('is not sent yet');
  const sentAt = target.sent_at ? new Date(target.sent_at).getTime() : Number(target.timestamp) * 1000;
  if (Date.now() - sentAt > EDIT_WINDOW_MS)
    refuse(`was sent at ${new Date(sentAt).toISOString()}: WhatsApp lets a message be edited for 15 minutes after it was sent`);
}
