/**
 * Polls and their votes: each voter's current choice per poll (a later vote
 * replaces it), recorded with a `poll_vote` event in the same transaction,
 * and a poll's results counted from them.
 */
import type { Db } from './knex.js';
import { recordEvent } from './events.js';
import type { MessageRow } from './messages.js';
import type { PollVote } from '../whatsapp/session.js';

/** A stored poll, as its votes are read and counted. */
export interface StoredPoll {
  id: string;
  chatId: string;
  name: string;
  options: string[];
  selectableCount: number;
  /** Its key (base64): without one (a poll from before the gateway kept keys) its votes cannot be read. */
  secret?: string;
  author: string[];
  fromMe: boolean;
}

export async function getPoll(db: Db, instanceId: string, id: string): Promise<StoredPoll | undefined> {
  const row = await db<MessageRow>('messages').where({ instance_id: instanceId, id, type: 'poll' }).first();
  const content = row?.content as { name?: string; values?: string[]; selectableCount?: number; secret?: string } | null | undefined;
  if (!row || !content?.values) return undefined;
  return {
    id: row.id,
    chatId: row.chat_id,
    name: content.name ?? row.body ?? '',
    options: content.values,
    selectableCount: content.selectableCount ?? 0,
    ...(content.secret ? { secret: content.secret } : {}),
    author: [row.from_jid, row.from_lid].filter((j): j is string => !!j),
    fromMe: row.from_me,
  };
}

/**
 * Records a voter's choice on a poll (none: the vote withdrawn), unless a
 * later vote of theirs is stored already (votes may arrive out of order, or
 * twice), with a `poll_vote` event. Returns whether it changed anything.
 */
export async function recordVote(db: Db, instanceId: string, poll: StoredPoll, vote: PollVote, selected: string[]): Promise<boolean> {
  return db.transaction(async (trx) => {
    const changed = await trx.raw(
      `insert into poll_votes (instance_id, poll_id, voter, voter_lid, selected, voted_at) values (?, ?, ?, ?, ?::jsonb, ?)
       on conflict (instance_id, poll_id, voter) do update
          set selected = excluded.selected, voter_lid = coalesce(excluded.voter_lid, poll_votes.voter_lid), voted_at = excluded.voted_at
        where poll_votes.voted_at < excluded.voted_at
       returning 1`,
      [instanceId, poll.id, vote.voter, vote.voterLid ?? null, JSON.stringify(selected), vote.at],
    );
    if (changed.rows.length === 0) return false;
    await recordEvent(trx, instanceId, 'poll_vote', {
      pollId: poll.id,
      chatId: poll.chatId,
      voter: vote.voter,
      ...(vote.voterLid ? { voterLid: vote.voterLid } : {}),
      fromMe: vote.fromMe,
      selected,
      votedAt: vote.at,
    });
    return true;
  });
}

export interface PollResults {
  id: string;
  chatId: string;
  name: string;
  selectableCount: number;
  /** Each option in the poll's order, with its count and voters. */
  options: Array<{ name: string; votes: number; voters: string[] }>;
  /** Voters whose vote stands (a withdrawn vote is none). */
  voters: number;
  /** Each voter's current vote. */
  votes: Array<{ voter: string; voterLid?: string; selected: string[]; votedAt: number }>;
}

export async function pollResults(db: Db, instanceId: string, poll: StoredPoll): Promise<PollResults> {
  const rows: Array<{ voter: string; voter_lid: string | null; selected: string[]; voted_at: string }> = await db('poll_votes')
    .where({ instance_id: instanceId, poll_id: poll.id })
    .orderBy('voted_at');
  const votes = rows.map((r) => ({
    voter: r.voter,
    ...(r.voter_lid ? { voterLid: r.voter_lid } : {}),
    selected: r.selected,
    votedAt: Number(r.voted_at),
  }));
  return {
    id: poll.id,
    chatId: poll.chatId,
    name: poll.name,
    selectableCount: poll.selectableCount,
    options: poll.options.map((name) => {
      const voters = votes.filter((v) => v.selected.includes(name)).map((v) => v.voter);
      return { name, votes: voters.length, voters };
    }),
    voters: votes.filter((v) => v.selected.length > 0).length,
    votes,
  };
}
