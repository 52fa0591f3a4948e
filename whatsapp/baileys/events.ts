/**
 * Baileys' events for one session, mapped to the gateway's handlers: one
 * subscription per kind of event (the mappings themselves are in inbound.ts,
 * receipts.ts, directory.ts, groups.ts, calls.ts and restrictions.ts).
 */
import type { EventEmitter } from 'node:events';
import type { Logger } from 'pino';
import { isLidUser, jidNormalizedUser, type BaileysEventMap, type WASocket } from '@whiskeysockets/baileys';
import type { IncomingCall, IncomingMessage, MessageChange, PollVote, StatusUpdate } from '../session.js';
import { toPollVote } from './polls.js';
import { toIncomingCall } from './calls.js';
import type { ConnectionLifecycle, SessionContext } from './connection.js';
import { toChatInfo, toContactInfo, toGroupInfo, toLiveChatInfo } from './directory.js';
import { toGroupUpdate, toParticipantsChange } from './groups.js';
import { statusName, toChange, toIncoming, toStatusUpdates, toStatusViews } from './inbound.js';
import { recordReceiptsFirst } from './receipts.js';
import { fromMessageCapping, fromReachoutTimelock } from './restrictions.js';

/** Queues a report after the ones before it; a failed one is logged as `failure`. */
type InOrder = (report: () => Promise<unknown>, failure: string) => void;

/** Subscribes the session's handlers to the socket's events. `sentHere`: ids of the messages this session sent. */
export function subscribeEvents(ctx: SessionContext, connection: ConnectionLifecycle, sentHere: ReadonlySet<string>): void {
  const { socket, state, handlers, logger } = ctx;
  // Receipts are stored before Baileys acknowledges them to WhatsApp (see recordReceiptsFirst).
  const notRecordedYet = recordReceiptsFirst({
    ws: socket.ws as unknown as EventEmitter,
    me: () => state.creds.me ?? undefined,
    record: async (updates) => {
      const statuses = toStatusUpdates(updates);
      if (statuses.length) await handlers.statuses?.(statuses);
    },
    isOpen: () => socket.ws.isOpen,
    onRetry: (err) => logger.warn({ err }, 'storing a receipt failed; it is acknowledged to WhatsApp once stored'),
  });
  socket.ev.on('creds.update', (update) => {
    state.saved.save().catch((err) => logger.error({ err }, 'the session credentials could not be stored'));
    // The push name arrives after login (history sync); tell the gateway.
    if (update.me) connection.announce();
  });
  const inOrder = reportsInOrder(logger);
  subscribeMessages(ctx, sentHere, inOrder);
  subscribeDirectory(ctx);
  subscribeGroups(ctx);
  subscribeCalls(ctx, inOrder);
  socket.ev.on('messages.update', (updates) => {
    const statuses = toStatusUpdates(notRecordedYet(updates));
    if (statuses.length) handlers.statuses?.(statuses);
  });
  // Labels changed on another device (app-state patches of the `regular` collection).
  socket.ev.on('labels.edit', (label) => {
    if (label.id)
      handlers.labels?.([{ kind: 'label', id: label.id, name: label.name ?? '', color: label.color ?? 0, deleted: !!label.deleted }]);
  });
  socket.ev.on('labels.association', ({ association, type }) => {
    if (association.type === 'label_jid')
      handlers.labels?.([
        { kind: 'chat', chatId: jidNormalizedUser(association.chatId), labelId: association.labelId, labeled: type === 'add' },
      ]);
  });
  // Views of the account's statuses (per viewer, as a group's receipts are).
  socket.ev.on('message-receipt.update', (receipts) => {
    const views = toStatusViews(receipts);
    if (views.length) handlers.statuses?.(views);
  });
  // WhatsApp's limits on the account: a `mex` notification, or Baileys' query after a send was refused (463).
  socket.ev.on('message-capping.update', (info) => handlers.restriction?.(fromMessageCapping(info)));
  socket.ev.on('connection.update', (update) => {
    if (update.reachoutTimeLock) handlers.restriction?.(fromReachoutTimelock(update.reachoutTimeLock));
    connection.onUpdate(update);
  });
}

/** One chain of reports, so that each waits for the ones queued before it. */
function reportsInOrder(logger: Logger): InOrder {
  let reported: Promise<unknown> = Promise.resolve();
  return (report, failure) => {
    reported = reported.then(report).catch((err) => logger.error({ err }, failure));
  };
}

function subscribeMessages({ socket, state, handlers }: SessionContext, sentHere: ReadonlySet<string>, inOrder: InOrder): void {
  socket.ev.on('messages.upsert', (upsert) => {
    const { incoming, statuses, changes, votes } = fromUpsert(upsert, state.creds.me?.id ?? '', sentHere, state.creds.me?.lid ?? undefined);
    // In order: a message whose sender needs a LID lookup must not be overtaken by a later one (nor an edit by its message).
    inOrder(async () => {
      if (incoming.length) handlers.messages?.(await withPhoneNumbers(socket, incoming));
      if (statuses.length) handlers.statuses?.(statuses);
      if (changes.length) handlers.messageChanges?.(await personsWithPhoneNumbers(socket, changes, 'by', 'byLid'));
      if (votes.length) handlers.pollVotes?.(await personsWithPhoneNumbers(socket, votes, 'voter', 'voterLid'));
    }, 'reporting incoming messages failed');
  });
}

/** An upsert's messages for the gateway, and the receipts of the account's own messages folded into it. */
export function fromUpsert(
  { messages, type }: BaileysEventMap['messages.upsert'],
  ownJid: string,
  sentHere: ReadonlySet<string>,
  ownLid?: string,
): { incoming: IncomingMessage[]; statuses: StatusUpdate[]; changes: MessageChange[]; votes: PollVote[] } {
  const incoming: IncomingMessage[] = [];
  const statuses: StatusUpdate[] = [];
  const changes: MessageChange[] = [];
  const votes: PollVote[] = [];
  for (const message of messages) {
    // An edit or a delete for everyone (of a message before it, or sent by this session: an edit it sent comes back).
    const change = toChange(message, ownJid, ownLid);
    if (change) {
      changes.push(change);
      continue;
    }
    const vote = toPollVote(message, ownJid, ownLid);
    if (vote) {
      votes.push(vote);
      continue;
    }
    // A message this session sent that comes back (a history sync): the gateway stored it before sending.
    const echo = message.key.fromMe && sentHere.has(message.key.id ?? '');
    const mapped = echo
      ? undefined
      : toIncoming(message, ownJid, type === 'append' || !!(message as { broadcast?: boolean }).broadcast, ownLid);
    if (mapped) incoming.push(mapped);
    // Receipts that arrived within the same event batch are folded into the upsert.
    const status = statusName(message.status);
    if (message.key.fromMe && message.key.id && status && status !== 'pending') {
      statuses.push({ id: message.key.id, chatId: message.key.remoteJid ?? '', status, fromMe: true });
    }
  }
  return { incoming, statuses, changes, votes };
}

/** Chats and contacts: from the history sync, then as they change. */
function subscribeDirectory({ socket, handlers }: SessionContext): void {
  socket.ev.on('messaging-history.set', ({ chats, contacts }) => {
    if (chats.length) handlers.chats?.(chats.map(toChatInfo));
    if (contacts.length) handlers.contacts?.(contacts.map(toContactInfo));
  });
  socket.ev.on('chats.upsert', (chats) => handlers.chats?.(chats.map(toLiveChatInfo)));
  socket.ev.on('chats.update', (chats) => handlers.chats?.(chats.map(toLiveChatInfo)));
  socket.ev.on('contacts.upsert', (contacts) => handlers.contacts?.(contacts.map(toContactInfo)));
  socket.ev.on('contacts.update', (contacts) => handlers.contacts?.(contacts.map(toContactInfo)));
}

function subscribeGroups({ socket, handlers }: SessionContext): void {
  socket.ev.on('groups.upsert', (groups) => handlers.groups?.(groups.map(toGroupInfo)));
  // The account joined or left a group, or its members or subject changed: the gateway looks it up.
  socket.ev.on('group-participants.update', (update) => {
    handlers.groupsChanged?.([update.id]);
    const change = toParticipantsChange(update);
    if (change) handlers.groupParticipants?.(change);
  });
  socket.ev.on('groups.update', (updates) => {
    handlers.groupsChanged?.(updates.flatMap((u) => (u.id ? [u.id] : [])));
    for (const update of updates) {
      const changed = toGroupUpdate(update);
      if (changed) handlers.groupUpdate?.(changed);
    }
  });
}

function subscribeCalls({ socket, handlers }: SessionContext, inOrder: InOrder): void {
  socket.ev.on('call', (events) => {
    const calls = events.flatMap((event) => toIncomingCall(event) ?? []);
    if (!calls.length) return;
    // In order with the messages: a caller known only by LID gets its phone number where the session knows it.
    inOrder(async () => handlers.calls?.(await callersWithPhoneNumbers(socket, calls)), 'reporting incoming calls failed');
  });
}

/**
 * Messages whose chat or sender is still a LID (WhatsApp sent no phone number
 * beside it) get the phone number from the LID mappings the session has
 * learnt (history sync, usync), where it knows one.
 */
async function withPhoneNumbers(socket: WASocket, messages: IncomingMessage[]): Promise<IncomingMessage[]> {
  const resolve = await phoneNumbersOf(
    socket,
    messages.flatMap((m) => [m.chatId, m.from, m.to]),
  );
  // A sender named by LID alone keeps it beside the phone number found for it.
  return messages.map((m) => ({
    ...m,
    chatId: resolve(m.chatId),
    from: resolve(m.from),
    ...(m.from.endsWith('@lid') ? { fromLid: m.fromLid ?? m.from } : {}),
    to: resolve(m.to),
  }));
}

/**
 * Reports (edits and deletes, votes) whose chat or person (`person`: the
 * author, the voter) is still a LID get their phone numbers as
 * withPhoneNumbers does for messages, the person's LID kept in `lid`.
 */
async function personsWithPhoneNumbers<T extends { chatId: string }, P extends keyof T & string, L extends keyof T & string>(
  socket: WASocket,
  reports: T[],
  person: P,
  lid: L,
): Promise<T[]> {
  const jidOf = (report: T) => report[person] as unknown as string;
  const resolve = await phoneNumbersOf(
    socket,
    reports.flatMap((r) => [r.chatId, jidOf(r)]),
  );
  return reports.map((r) => ({
    ...r,
    chatId: resolve(r.chatId),
    [person]: resolve(jidOf(r)),
    ...(jidOf(r).endsWith('@lid') ? { [lid]: r[lid] ?? jidOf(r) } : {}),
  }));
}

/** The phone numbers of these JIDs' LIDs that the session knows: a JID with none (or not a LID) stays as it is. */
async function phoneNumbersOf(socket: WASocket, jids: string[]): Promise<(jid: string) => string> {
  const lids = [...new Set(jids.filter((jid) => jid.endsWith('@lid')))];
  if (lids.length === 0) return (jid) => jid;
  const found = (await socket.signalRepository.lidMapping.getPNsForLIDs(lids).catch(() => null)) ?? [];
  const pnOf = new Map(found.map(({ lid, pn }) => [lid, jidNormalizedUser(pn)]));
  return (jid) => pnOf.get(jid) ?? jid;
}

/** Callers named by LID alone get their phone number from the LID mappings the session has learnt, where it knows one. */
async function callersWithPhoneNumbers(socket: WASocket, calls: IncomingCall[]): Promise<IncomingCall[]> {
  if (!calls.some((c) => isLidUser(c.from))) return calls;
  const resolve = await phoneNumbersOf(
    socket,
    calls.map((c) => c.from),
  );
  return calls.map((c) => ({ ...c, from: resolve(c.from) }));
}
