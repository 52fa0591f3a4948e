import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { applyStatuses, recordIncoming, storedIds } from '../db/messages.js';
import type { MediaStore } from '../media/store.js';
import { foldLidChats, forgetGroup, lidChatIds, upsertChats, upsertContacts, upsertGroups } from '../db/directory.js';
import { optOutByKeyword } from '../db/optouts.js';
import { recordEvent } from '../db/events.js';
import { changeMessages } from './messageChanges.js';
import { getPoll, recordVote } from '../db/polls.js';
import { applyLabelChanges } from '../db/labels.js';
import type { Chatbot } from './chatbot.js';
import type { FlowRouter } from './flowRouter.js';
import type {
  ChatInfo,
  ContactInfo,
  GroupInfo,
  GroupParticipantsChange,
  GroupUpdate,
  IncomingMessage,
  LabelChange,
  MessageChange,
  PollVote,
  StatusUpdate,
  WhatsAppSession,
} from '../whatsapp/session.js';
import { WhatsAppRefusal } from '../whatsapp/session.js';

export interface InboundDeps {
  db: Db;
  media: MediaStore;
  logger: Logger;
  /** Starts the chatbot's replies to new incoming messages (activities/chatbot.ts). */
  chatbot?: Pick<Chatbot, 'consider'>;
  /** Hands messages to their chats' flow runs, or starts runs on keywords; the chatbot gets what is left. */
  flows?: Pick<FlowRouter, 'route'>;
}

/**
 * What a session reports, stored in order: incoming messages (with their
 * media downloaded into storage) and receipts. Returns a function to await
 * everything queued so far.
 */
export function createInboundRecorder(deps: InboundDeps, instanceId: string, session: () => WhatsAppSession | undefined) {
  let queue = Promise.resolve();
  const run = (work: () => Promise<unknown>) => {
    queue = queue.then(work).then(
      () => undefined,
      (err) => deps.logger.error({ err, instanceId }, 'storing what the session reported failed'),
    );
  };

  /** Opens each vote with its poll's key and records it; a vote on a poll the gateway has no key for is dropped (logged). */
  async function storeVotes(votes: PollVote[]): Promise<void> {
    for (const vote of votes) {
      const poll = await getPoll(deps.db, instanceId, vote.pollId);
      const selected =
        poll?.secret &&
        session()?.readPollVote(vote, { secret: poll.secret, options: poll.options, author: poll.author, fromMe: poll.fromMe });
      if (!poll || !selected) {
        deps.logger.warn({ instanceId, pollId: vote.pollId, voter: vote.voter, known: !!poll }, 'a poll vote could not be read');
        continue;
      }
      await recordVote(deps.db, instanceId, poll, vote, selected);
    }
  }

  /**
   * The chats kept under a LID alone (WhatsApp hid the number), read once:
   * only they need folding into the number's chat when a message names the
   * pair, so the messages of other senders cost no statement for it.
   */
  let lidChats: Promise<Set<string>> | undefined;
  async function foldLidChatsOf(messages: IncomingMessage[]): Promise<void> {
    lidChats ??= lidChatIds(deps.db, instanceId).then((ids) => new Set(ids));
    const known = await lidChats;
    for (const m of messages) if (m.chatId.endsWith('@lid')) known.add(m.chatId);
    const pairs = messages.flatMap((m) =>
      !m.fromMe && m.fromLid && m.chatId === m.from && m.from.endsWith('@s.whatsapp.net') && known.has(m.fromLid)
        ? [{ pn: m.from, lid: m.fromLid }]
        : [],
    );
    if (pairs.length === 0) return;
    await foldLidChats(deps.db, instanceId, pairs);
    for (const { lid } of pairs) known.delete(lid);
  }

  async function storeMessages(messages: IncomingMessage[]): Promise<void> {
    const known = await storedIds(
      deps.db,
      instanceId,
      messages.map((m) => m.id),
    );
    // Our own sends come back as upserts: they are stored already.
    const fresh = messages.filter((m) => !known.has(m.id));
    const left = deps.flows ? await deps.flows.route(instanceId, fresh) : fresh;
    await deps.chatbot?.consider(instanceId, left);
    const media = new Map<string, Record<string, unknown>>();
    for (const message of fresh) {
      if (!message.media) continue;
      try {
        const bytes = await session()!.downloadMedia(message);
        const stored = await deps.media.save(instanceId, bytes, { originalName: message.media.fileName, mimetype: message.media.mimetype });
        media.set(message.id, {
          filename: stored.filename,
          mimetype: stored.mimetype,
          size: stored.size,
          url: deps.media.url(instanceId, stored.filename),
          ...(message.media.fileName ? { fileName: message.media.fileName } : {}),
        });
      } catch (err) {
        deps.logger.warn({ err, instanceId, id: message.id }, 'downloading incoming media failed');
      }
    }
    // Before storing: the message that names a LID's number lands in the one chat, with the LID's messages moved there.
    await foldLidChatsOf(fresh.filter((m) => !m.chatId.endsWith('@lid')));
    const stored = await recordIncoming(deps.db, instanceId, fresh, media);
    // A batch that holds both a LID's first message and one naming its number (rare) is folded after.
    await foldLidChatsOf(stored);
    const optedOut = await optOutByKeyword(deps.db, instanceId, stored);
    if (optedOut.length > 0) deps.logger.info({ instanceId, optedOut }, 'opted out of campaigns by keyword');
  }

  /**
   * Items that may be written together (receipts, chat and contact updates)
   * collect while earlier work is stored, and are written in one go when
   * their turn comes: under load, a batch per write instead of one each.
   */
  function coalesced<T>(write: (items: T[]) => Promise<unknown>) {
    let waiting: T[] = [];
    let written: Promise<void> = Promise.resolve();
    /** Resolves once the items are written (with the others of their batch); rejects if that failed. */
    return (items: T[]): Promise<void> => {
      if (items.length === 0) return Promise.resolve();
      if (waiting.length === 0) {
        let done!: { resolve: () => void; reject: (err: unknown) => void };
        written = new Promise<void>((resolve, reject) => (done = { resolve, reject }));
        // Most callers do not wait: the failure is logged by run.
        written.catch(() => {});
        run(async () => {
          const batch = waiting;
          waiting = [];
          try {
            await write(batch);
            done.resolve();
          } catch (err) {
            done.reject(err);
            throw err;
          }
        });
      }
      waiting.push(...items);
      return written;
    };
  }
  const merged = <T extends { id: string }>(items: T[]) => {
    const byId = new Map<string, T>();
    for (const item of items) byId.set(item.id, { ...byId.get(item.id), ...item });
    return [...byId.values()];
  };

  return {
    messages: (messages: IncomingMessage[]) => run(() => storeMessages(messages)),
    /** Labels changed on the phone (or another device of the account). */
    labels: (changes: LabelChange[]) => run(() => applyLabelChanges(deps.db, instanceId, changes, 'phone')),
    /** Votes on polls, after the messages reported before them (their polls among them) are stored. */
    pollVotes: (votes: PollVote[]) => run(() => storeVotes(votes)),
    /** Edits and deletes for everyone, after the messages reported before them are stored. */
    messageChanges: (changes: MessageChange[]) => run(() => changeMessages(deps, instanceId, changes)),
    // A receipt implies the send: like the outbox's "sent", it is recorded once the keys of that send are stored.
    statuses: coalesced<StatusUpdate>(async (updates) => {
      await session()?.persisted();
      return applyStatuses(deps.db, instanceId, updates);
    }),
    chats: coalesced<ChatInfo>((chats) => upsertChats(deps.db, instanceId, merged(chats))),
    contacts: coalesced<ContactInfo>((contacts) => upsertContacts(deps.db, instanceId, merged(contacts))),
    groups: (groups: GroupInfo[]) => run(() => upsertGroups(deps.db, instanceId, groups)),
    groupsChanged: (groupIds: string[]) =>
      run(async () => {
        for (const id of new Set(groupIds)) {
          const group = await session()
            ?.groupMetadata(id)
            .catch((err: unknown) => {
              // Not (or no longer) a member: WhatsApp refuses the metadata.
              if (err instanceof WhatsAppRefusal && [401, 403, 404].includes(err.status)) return null;
              throw err;
            });
          if (group) await upsertGroups(deps.db, instanceId, [group]);
          else if (group === null) await forgetGroup(deps.db, instanceId, id);
        }
      }),
    /** A `group_participants` event, after the group's new metadata (queued before it) is stored. */
    groupParticipants: (change: GroupParticipantsChange) =>
      run(() => recordEvent(deps.db, instanceId, 'group_participants', { ...change })),
    /** A `group_update` event, after the group's new metadata (queued before it) is stored. */
    groupUpdate: (update: GroupUpdate) => run(() => recordEvent(deps.db, instanceId, 'group_update', { ...update })),
    /** The groups the account is in, fetched now (after a login). */
    refreshGroups: () => run(async () => upsertGroups(deps.db, instanceId, (await session()?.participatingGroups()) ?? [])),
    settled: () => queue,
  };
}
