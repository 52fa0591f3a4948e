/**
 * Votes on polls, as a phone casts them: it names the chosen options by their
 * SHA-256 and encrypts them with the poll's key (its `messageSecret`), bound
 * to the poll's id, its author and the voter (AES-256-GCM, the tag after the
 * ciphertext), as WhatsApp's apps do.
 */
import { createCipheriv, createHash, createHmac, randomBytes } from 'node:crypto';
import { proto } from '@whiskeysockets/baileys';
import { lidJid, pnJid, type SimUser } from './directory.js';
import { sendFromPhone } from './messages.js';
import type { Simulator } from './simulator.js';

export interface PhoneVote {
  from: SimUser;
  /** The poll's message id (a poll this phone received). */
  pollId: string;
  /** The chosen options, by name; none withdraws the vote. */
  options: string[];
  /** Where the poll is: its author's chat (`to`, the poll's author) or a group. */
  to?: SimUser;
  group?: string;
  /** Which JIDs the vote is bound to: phone numbers (the default) or LIDs, as newer apps do. */
  addressing?: 'pn' | 'lid';
  /** When the vote was cast (ms since the epoch; now by default). */
  at?: number;
  /** A poll another phone sent (the simulator keeps only what linked devices send): its author, options and key. */
  poll?: { author: SimUser; options: string[]; secret: Uint8Array };
}

/** The poll as the voter's phone got it: its options and key. */
function pollOn(sim: Simulator, vote: PhoneVote): { author: SimUser; options: string[]; secret: Uint8Array } {
  if (vote.poll) return vote.poll;
  const message = sim.received.find(
    (m) => m.id === vote.pollId && m.to === vote.from.phone && !m.ownCopy && (m.group ?? '') === (vote.group ?? ''),
  );
  const poll =
    message && (message.message.pollCreationMessage ?? message.message.pollCreationMessageV2 ?? message.message.pollCreationMessageV3);
  const secret = message?.message.messageContextInfo?.messageSecret;
  if (!message || !poll || !secret) throw new Error(`${vote.from.phone}'s phone has no poll ${vote.pollId}`);
  return { author: sim.user(message.from), options: (poll.options ?? []).map((o) => o.optionName ?? ''), secret };
}

/** A phone votes on a poll it received (a later vote replaces its earlier one). Returns the vote's message id. */
export async function voteFromPhone(sim: Simulator, vote: PhoneVote): Promise<string> {
  const { author, options, secret } = pollOn(sim, vote);
  const unknown = vote.options.filter((o) => !options.includes(o));
  if (unknown.length) throw new Error(`poll ${vote.pollId} has no option ${unknown.join(', ')}`);
  const jidOf = (user: SimUser) => (vote.addressing === 'lid' ? lidJid(user.lid) : pnJid(user.phone));
  const creatorJid = jidOf(author);
  const voterJid = jidOf(vote.from);
  const plaintext = proto.Message.PollVoteMessage.encode({
    selectedOptions: vote.options.map((o) => createHash('sha256').update(o).digest()),
  }).finish();
  const sign = Buffer.concat([
    Buffer.from(vote.pollId),
    Buffer.from(creatorJid),
    Buffer.from(voterJid),
    Buffer.from('Poll Vote'),
    Buffer.from([1]),
  ]);
  const key0 = createHmac('sha256', Buffer.alloc(32)).update(secret).digest();
  const key = createHmac('sha256', key0).update(sign).digest();
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(`${vote.pollId}\u0000${voterJid}`));
  const encPayload = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  const update: proto.IMessage = {
    pollUpdateMessage: {
      pollCreationMessageKey: {
        remoteJid: vote.group ?? pnJid(author.phone),
        fromMe: false,
        id: vote.pollId,
        ...(vote.group ? { participant: pnJid(author.phone) } : {}),
      },
      vote: { encPayload, encIv: iv },
      senderTimestampMs: vote.at ?? Date.now(),
    },
  };
  if (vote.group) return sim.sendGroupMessage(vote.from.phone, vote.group, update, { stanzaType: 'poll' });
  return sendFromPhone(sim, vote.from, vote.to ?? author, update, { stanzaType: 'poll' });
}
