/**
 * Poll votes: WhatsApp encrypts each vote with the poll's key (its
 * `messageSecret`), bound to the poll's id, its author and the voter, and a
 * vote names the chosen options by their SHA-256. toPollVote maps the vote
 * as it arrives; readPollVote opens it with the poll.
 */
import { createHash } from 'node:crypto';
import { decryptPollVote, jidNormalizedUser, normalizeMessageContent, type WAMessage } from '@whiskeysockets/baileys';
import type { PollForVotes, PollVote } from '../session.js';
import { senderOf } from './inbound.js';

/** The encrypted vote as it travels (base64), for the gateway to hand back to readPollVote. */
interface EncryptedVote {
  payload: string;
  iv: string;
}

/** A vote on a poll as the gateway's PollVote, or undefined for any other message. */
export function toPollVote(message: WAMessage, ownJid: string, ownLid?: string): PollVote | undefined {
  const update = normalizeMessageContent(message.message)?.pollUpdateMessage;
  const pollId = update?.pollCreationMessageKey?.id;
  const vote = update?.vote;
  if (!update || !pollId || !vote?.encPayload || !vote.encIv) return undefined;
  const { chatId, from, fromLid } = senderOf(message, ownJid, ownLid);
  const encrypted: EncryptedVote = {
    payload: Buffer.from(vote.encPayload).toString('base64'),
    iv: Buffer.from(vote.encIv).toString('base64'),
  };
  const sent = Number(update.senderTimestampMs ?? 0);
  return {
    pollId,
    chatId,
    voter: from,
    ...(fromLid ? { voterLid: fromLid } : {}),
    fromMe: !!message.key.fromMe,
    at: sent > 0 ? sent : Number(message.messageTimestamp ?? 0) * 1000,
    encrypted,
  };
}

/**
 * The options a vote chose, opened with the poll's key. Which form of the
 * author's and the voter's JIDs the voter's app bound the vote to (phone
 * number or LID) is not said: each pair is tried, and the cipher's tag tells
 * the right one. Undefined when none opens it (another poll's key, a forgery).
 */
export function readPollVote(vote: PollVote, poll: PollForVotes, own: { jid?: string; lid?: string }): string[] | undefined {
  const encrypted = vote.encrypted as EncryptedVote;
  const ownIds = [own.jid, own.lid].filter((j): j is string => !!j).map((j) => jidNormalizedUser(j));
  const authors = unique([...poll.author, ...(poll.fromMe ? ownIds : [])]);
  const voters = unique([vote.voter, vote.voterLid, ...(vote.fromMe ? ownIds : [])]);
  const byHash = new Map(poll.options.map((name) => [createHash('sha256').update(name).digest('hex'), name]));
  for (const pollCreatorJid of authors) {
    for (const voterJid of voters) {
      try {
        const decrypted = decryptPollVote(
          { encPayload: Buffer.from(encrypted.payload, 'base64'), encIv: Buffer.from(encrypted.iv, 'base64') },
          { pollCreatorJid, pollMsgId: vote.pollId, pollEncKey: Buffer.from(poll.secret, 'base64'), voterJid },
        );
        return (decrypted.selectedOptions ?? []).flatMap((hash) => byHash.get(Buffer.from(hash).toString('hex')) ?? []);
      } catch {
        // Not this pair: the tag does not match.
      }
    }
  }
  return undefined;
}

const unique = (jids: Array<string | undefined | null>) => [...new Set(jids.filter((j): j is string => !!j))];
