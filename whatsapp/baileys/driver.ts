import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { Agent as UndiciAgent } from 'undici';
import {
  makeWASocket,
  isLidUser,
  DisconnectReason,
  jidNormalizedUser,
  Browsers,
  downloadMediaMessage,
  generateWAMessage,
  type BinaryNode,
  type proto,
  type WAMessage,
  type WASocket,
  type WAVersion,
} from '@whiskeysockets/baileys';
import type {
  Account,
  CloseReason,
  ConnectOptions,
  IncomingMessage,
  SessionClose,
  StatusUpdate,
  WhatsAppDriver,
  WhatsAppSession,
  IncomingCall,
} from '../session.js';
import { PairingRefused } from '../session.js';
import { toIncomingCall } from './calls.js';
import { loadAuthState } from './authState.js';
import { toBaileysContent } from './outbound.js';
import { cheapBaileysTimerStacks } from './stackTraces.js';
import { recordReceiptsFirst } from './receipts.js';
import { statusName, toIncoming, toStatusUpdates } from './inbound.js';
import { toChatInfo, toContactInfo, toGroupInfo, toLiveChatInfo } from './directory.js';
import { fromMessageCapping, fromReachoutTimelock } from './restrictions.js';
import {
  createdGroup,
  createdGroupId,
  isCreateAnswer,
  refusalsTyped,
  toGroupUpdate,
  toParticipantResults,
  toParticipantsChange,
} from './groups.js';
import { createSessionProxy } from './proxy.js';

export interface BaileysDriverOptions {
  /** WhatsApp Web websocket URL (a simulator's in tests and demos). */
  wsUrl: string;
  /** Pinned WhatsApp Web version "2.3000.x"; Baileys' default when unset. */
  version?: string;
  /** PEM file of extra certificate authorities to trust (a simulator's). */
  caFile?: string;
}

export function createBaileysDriver(options: BaileysDriverOptions): WhatsAppDriver {
  cheapBaileysTimerStacks();
  const version = options.version ? (options.version.split('.').map(Number) as WAVersion) : undefined;
  const ca = options.caFile ? readFileSync(options.caFile) : undefined;
  // Baileys makes HTTPS requests three ways, each needing the CA separately:
  // `agent` for a wss:// websocket (an https.Agent breaks a ws:// one, so only then),
  // `fetchAgent` for media uploads (node:https), and an undici dispatcher for
  // downloads (global fetch; also passed to downloadMediaMessage below).
  const agent = ca ? new Agent({ ca, keepAlive: true }) : undefined;
  const directFetchOptions = ca ? { dispatcher: new UndiciAgent({ connect: { ca } }) } : {};
  const wss = options.wsUrl.startsWith('wss:');

  return {
    async connect({ auth, handlers, logger, proxyUrl }: ConnectOptions): Promise<WhatsAppSession> {
      // Through a proxy, all three go through it: its agent serves ws:// and wss:// alike.
      const proxy = proxyUrl ? createSessionProxy(proxyUrl, ca) : undefined;
      const fetchOptions = proxy ? { dispatcher: proxy.dispatcher } : directFetchOptions;
      const state = await loadAuthState(auth, (err) => logger.warn({ err }, 'storing the session credentials failed; retrying'));
      const baileysLogger = logger.child(
        { module: 'baileys' },
        // Baileys is chatty: its warnings only, unless the gateway logs at debug (or more quietly than warn).
        { level: logger.isLevelEnabled('debug') ? 'debug' : logger.isLevelEnabled('warn') ? 'warn' : logger.level },
      );
      const socket: WASocket = makeWASocket({
        auth: { creds: state.creds, keys: state.keys },
        waWebSocketUrl: options.wsUrl,
        ...(version ? { version } : {}),
        ...(proxy
          ? { agent: proxy.agent as Agent, fetchAgent: proxy.agent as Agent, options: fetchOptions as RequestInit }
          : agent
            ? { ...(wss ? { agent } : {}), fetchAgent: agent, options: fetchOptions as RequestInit }
            : {}),
        browser: Browsers.ubuntu('Chrome'),
        logger: baileysLogger as never,
        markOnlineOnConnect: false,
        syncFullHistory: false,
        // No echo of what this socket sends: the gateway stored each message (and its chat) before sending it.
        emitOwnEvents: false,
      });

      let reported = Promise.resolve();
      /** Ids of the messages this session sent (the most recent ones). */
      const sentHere = new Set<string>();
      let resolveClosed!: (close: SessionClose) => void;
      const closed = new Promise<SessionClose>((resolve) => (resolveClosed = resolve));
      let closingOnPurpose = false;
      let isOpen = false;
      const openWaiters = new Set<() => void>();
      /** A QR was shown: the device is registering, and may ask for a pairing code instead. */
      let registering = false;
      const registeringWaiters = new Set<() => void>();
      let announced: Account | undefined;
      const announce = () => {
        const me = state.creds.me;
        if (!isOpen || !me?.id) return;
        const account = { id: me.id, name: me.name ?? socket.user?.name ?? null, phone: me.id.split(/[:@]/)[0]! };
        if (announced && announced.id === account.id && announced.name === account.name) return;
        announced = account;
        handlers.open(account);
      };

      // A server that answers the websocket upgrade with an HTTP error (503, a proxy's 502...) would
      // otherwise leave Baileys waiting forever: end the socket so the session retries with backoff.
      (socket.ws as unknown as NodeJS.EventEmitter).on(
        'unexpected-response',
        (request: { destroy(): void }, response: { statusCode?: number }) => {
          request.destroy();
          const status = response.statusCode ?? 500;
          // A proxy that refuses the tunnel answers the upgrade itself (407: wrong or missing credentials).
          const who = proxy && (status === 407 || status === 502 || status === 403) ? 'the proxy' : 'WhatsApp';
          socket.end(
            Object.assign(new Error(`${who} refused the connection (HTTP ${status})`), {
              output: { statusCode: status >= 500 ? 503 : status },
            }) as never,
          );
        },
      );
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
        if (update.me) announce();
      });
      socket.ev.on('messages.upsert', ({ messages, type }) => {
        const ownJid = state.creds.me?.id ?? '';
        const incoming: IncomingMessage[] = [];
        const statuses: StatusUpdate[] = [];
        for (const message of messages) {
          // A message this session sent that comes back (a history sync): the gateway stored it before sending.
          const echo = message.key.fromMe && sentHere.has(message.key.id ?? '');
          const mapped = echo
            ? undefined
            : toIncoming(message, ownJid, type === 'append' || !!(message as { broadcast?: boolean }).broadcast);
          if (mapped) incoming.push(mapped);
          // Receipts that arrived within the same event batch are folded into the upsert.
          const status = statusName(message.status);
          if (message.key.fromMe && message.key.id && status && status !== 'pending') {
            statuses.push({ id: message.key.id, chatId: message.key.remoteJid ?? '', status, fromMe: true });
          }
        }
        // In order: a message whose sender needs a LID lookup must not be overtaken by a later one.
        reported = reported
          .then(async () => {
            if (incoming.length) handlers.messages?.(await withPhoneNumbers(socket, incoming));
            if (statuses.length) handlers.statuses?.(statuses);
          })
          .catch((err) => logger.error({ err }, 'reporting incoming messages failed'));
      });
      socket.ev.on('messaging-history.set', ({ chats, contacts }) => {
        if (chats.length) handlers.chats?.(chats.map(toChatInfo));
        if (contacts.length) handlers.contacts?.(contacts.map(toContactInfo));
      });
      socket.ev.on('chats.upsert', (chats) => handlers.chats?.(chats.map(toLiveChatInfo)));
      socket.ev.on('chats.update', (chats) => handlers.chats?.(chats.map(toLiveChatInfo)));
      socket.ev.on('contacts.upsert', (contacts) => handlers.contacts?.(contacts.map(toContactInfo)));
      socket.ev.on('contacts.update', (contacts) => handlers.contacts?.(contacts.map(toContactInfo)));
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
      socket.ev.on('call', (events) => {
        const calls = events.flatMap((event) => toIncomingCall(event) ?? []);
        if (!calls.length) return;
        // In order with the messages: a caller known only by LID gets its phone number where the session knows it.
        reported = reported
          .then(async () => handlers.calls?.(await callersWithPhoneNumbers(socket, calls)))
          .catch((err) => logger.error({ err }, 'reporting incoming calls failed'));
      });
      socket.ev.on('messages.update', (updates) => {
        const statuses = toStatusUpdates(notRecordedYet(updates));
        if (statuses.length) handlers.statuses?.(statuses);
      });
      // WhatsApp's limits on the account: a `mex` notification, or Baileys' query after a send was refused (463).
      socket.ev.on('message-capping.update', (info) => handlers.restriction?.(fromMessageCapping(info)));
      socket.ev.on('connection.update', (update) => {
        if (update.reachoutTimeLock) handlers.restriction?.(fromReachoutTimelock(update.reachoutTimeLock));
        if (update.qr) {
          handlers.qr(update.qr);
          registering = true;
          for (const wake of registeringWaiters) wake();
          registeringWaiters.clear();
        }
        if (update.connection === 'open') {
          isOpen = true;
          for (const wake of openWaiters) wake();
          openWaiters.clear();
          announce();
        }
        if (update.connection === 'close') {
          isOpen = false;
          // A pairing code was asked for but never entered: Baileys put the number in `me`, which would make the
          // next connection log in as a device WhatsApp never linked (refused as logged out). Register afresh.
          if (state.creds.me && !state.creds.account) {
            state.creds.me = undefined;
            state.creds.pairingCode = undefined;
            state.saved.save().catch((err) => logger.error({ err }, 'the session credentials could not be stored'));
          }
          const error = update.lastDisconnect?.error as { message?: string; output?: { statusCode?: number } } | undefined;
          const close: SessionClose = closingOnPurpose
            ? { reason: 'closed' }
            : { reason: closeReason(error?.output?.statusCode, error?.message), message: error?.message };
          // The session ends once its credentials and keys are stored: whoever resumes it reads them next
          // (right away after a 515 restart). A logged-out account's keys are void (and about to be
          // cleared, as are its credentials, so a write under way must land before that).
          const keysDone =
            close.reason === 'loggedOut'
              ? state.keys.discard()
              : state.keys
                  .finish(SESSION_FLUSH_TIMEOUT_MS)
                  .catch((err) =>
                    logger.error({ err }, 'storing the session keys failed; the next connection resumes from the last stored ones'),
                  );
          const credsDone = state.saved
            .finish(SESSION_FLUSH_TIMEOUT_MS)
            .catch((err) =>
              logger.error({ err }, 'storing the session credentials failed; the next connection resumes from the last stored ones'),
            );
          proxy?.close();
          void Promise.all([keysDone, credsDone]).then(() => resolveClosed(close));
        }
      });

      return {
        closed,
        async close() {
          closingOnPurpose = true;
          socket.end(undefined);
          await closed;
        },
        async logout() {
          await socket.logout();
          await closed;
        },
        waitOpen(timeoutMs) {
          if (isOpen) return Promise.resolve();
          return new Promise((resolve, reject) => {
            const timer = setTimeout(() => {
              openWaiters.delete(wake);
              reject(new Error('the WhatsApp connection is not open'));
            }, timeoutMs);
            const wake = () => {
              clearTimeout(timer);
              resolve();
            };
            openWaiters.add(wake);
          });
        },
        persisted() {
          return state.keys.persisted();
        },
        async prepare(message) {
          // What sendMessage does before it relays: for media, encrypt and upload the file.
          const full = await generateWAMessage(message.to, toBaileysContent(message), {
            logger: baileysLogger as never,
            userJid: state.creds.me?.id ?? '',
            upload: socket.waUploadToServer,
            options: fetchOptions as RequestInit,
            messageId: message.id,
          });
          return { prepared: full.message };
        },
        async send(message, prepared) {
          sentHere.add(message.id);
          if (sentHere.size > 10_000) sentHere.delete(sentHere.values().next().value!);
          // A prepared media message needs none of sendMessage's extra attributes (those are for deletes, edits, polls).
          if (prepared) await socket.relayMessage(message.to, prepared.prepared as proto.IMessage, { messageId: message.id });
          else await socket.sendMessage(message.to, toBaileysContent(message), { messageId: message.id });
        },
        async exists(jid) {
          const [result] = (await socket.onWhatsApp(jid)) ?? [];
          return { exists: !!result?.exists, jid: result?.jid ?? jid };
        },
        async existing(jids) {
          const answers = (await socket.onWhatsApp(...jids)) ?? [];
          // Answered by number: the canonical JID may differ from the one asked about.
          const byPhone = new Map(answers.map((a) => [a.jid.split(/[@:]/)[0], !!a.exists]));
          return new Map(jids.map((jid) => [jid, byPhone.get(jid.split(/[@:]/)[0]) ?? false]));
        },
        async markRead(chatId, messages) {
          await socket.readMessages(
            messages.map((m) => ({ remoteJid: chatId, id: m.id, fromMe: false, ...(m.participant ? { participant: m.participant } : {}) })),
          );
        },
        async sendPresence(presence, to) {
          if (presence === 'available' || presence === 'unavailable') {
            // Baileys drops an account-wide presence while the push name is unknown; WhatsApp takes one without it.
            if (state.creds.me?.name) await socket.sendPresenceUpdate(presence);
            else await socket.sendNode({ tag: 'presence', attrs: { type: presence } });
            return;
          }
          if (!to) throw new Error(`a ${presence} presence needs a chat`);
          await socket.sendPresenceUpdate(presence, to);
        },
        async modifyChat(chatId, action, last) {
          const lastMessages = last
            ? [{ key: { remoteJid: chatId, id: last.id, fromMe: last.fromMe }, messageTimestamp: last.timestamp }]
            : [];
          if (action === 'delete') await socket.chatModify({ delete: true, lastMessages }, chatId);
          else await socket.chatModify({ archive: action === 'archive', lastMessages }, chatId);
        },
        async setBlocked(jid, blocked) {
          await socket.updateBlockStatus(jid, blocked ? 'block' : 'unblock');
        },
        async profilePicture(jid) {
          try {
            return (await socket.profilePictureUrl(jid, 'image', 10_000)) ?? null;
          } catch (err) {
            // WhatsApp answers 404 (none) or 401 (hidden by privacy settings).
            const status = (err as { output?: { statusCode?: number }; data?: number }).output?.statusCode;
            if (status === 404 || status === 401 || /item-not-found|not-authorized/.test(String((err as Error).message))) return null;
            throw err;
          }
        },
        groupMetadata(groupId) {
          return refusalsTyped(async () => toGroupInfo(await socket.groupMetadata(groupId)));
        },
        async participatingGroups() {
          return Object.values(await socket.groupFetchAllParticipating()).map(toGroupInfo);
        },
        async requestPairingCode(phone) {
          if (isOpen || state.creds.account) throw new PairingRefused('alreadyPaired', 'the device is paired already');
          if (!registering) {
            // Connecting: WhatsApp is about to show the first QR (a code can be asked for from then on).
            await new Promise<void>((resolve, reject) => {
              const timer = setTimeout(() => {
                registeringWaiters.delete(wake);
                reject(new PairingRefused('notRegistering', 'the connection is not waiting for a pairing (no QR was shown)'));
              }, 10_000);
              const wake = () => {
                clearTimeout(timer);
                resolve();
              };
              registeringWaiters.add(wake);
            });
          }
          if (isOpen || state.creds.account) throw new PairingRefused('alreadyPaired', 'the device is paired already');
          return socket.requestPairingCode(phone);
        },
        async rejectCall(callId, creator) {
          await socket.rejectCall(callId, creator);
        },
        createGroup(subject, participants) {
          return refusalsTyped(async () => {
            // The per-participant codes are in WhatsApp's answer only (see createdGroup): keep it as it passes.
            const answers: BinaryNode[] = [];
            const keep = (frame: BinaryNode | Uint8Array) => {
              if (!(frame instanceof Uint8Array) && isCreateAnswer(frame)) answers.push(frame);
            };
            const ws = socket.ws as unknown as EventEmitter;
            ws.on('frame', keep);
            try {
              const metadata = await socket.groupCreate(subject, participants);
              return createdGroup(
                metadata,
                participants,
                answers.find((a) => createdGroupId(a) === metadata.id),
              );
            } finally {
              ws.off('frame', keep);
            }
          });
        },
        updateGroupParticipants(groupId, action, participants) {
          return refusalsTyped(async () =>
            toParticipantResults(await socket.groupParticipantsUpdate(groupId, participants, action), participants),
          );
        },
        setGroupSubject(groupId, subject) {
          return refusalsTyped(() => socket.groupUpdateSubject(groupId, subject));
        },
        setGroupDescription(groupId, description) {
          return refusalsTyped(() => socket.groupUpdateDescription(groupId, description ?? undefined));
        },
        setGroupSettings(groupId, { announce, restrict }) {
          return refusalsTyped(async () => {
            if (announce !== undefined) await socket.groupSettingUpdate(groupId, announce ? 'announcement' : 'not_announcement');
            if (restrict !== undefined) await socket.groupSettingUpdate(groupId, restrict ? 'locked' : 'unlocked');
          });
        },
        groupInviteCode(groupId) {
          return refusalsTyped(async () => required(await socket.groupInviteCode(groupId), 'invite code'));
        },
        revokeGroupInvite(groupId) {
          return refusalsTyped(async () => required(await socket.groupRevokeInvite(groupId), 'invite code'));
        },
        joinGroup(code) {
          return refusalsTyped(async () => jidNormalizedUser(required(await socket.groupAcceptInvite(code), 'group id')));
        },
        leaveGroup(groupId) {
          return refusalsTyped(() => socket.groupLeave(groupId));
        },
        async downloadMedia(message) {
          return downloadMediaMessage(
            message.raw as WAMessage,
            'buffer',
            { options: fetchOptions as RequestInit },
            { reuploadRequest: socket.updateMediaMessage, logger: baileysLogger as never },
          );
        },
      };
    },
  };
}

const SESSION_FLUSH_TIMEOUT_MS = 15_000;

/** WhatsApp's answer without what it should hold. */
function required<T>(value: T | undefined | null, what: string): T {
  if (value === undefined || value === null || value === '') throw new Error(`WhatsApp answered without the ${what}`);
  return value;
}

export function closeReason(statusCode: number | undefined, message?: string): CloseReason {
  switch (statusCode) {
    case DisconnectReason.loggedOut:
    case DisconnectReason.multideviceMismatch:
      return 'loggedOut';
    case DisconnectReason.restartRequired:
      return 'restartRequired';
    case DisconnectReason.connectionReplaced:
      return 'replaced';
    case DisconnectReason.timedOut:
      return message?.includes('QR refs attempts ended') ? 'qrTimeout' : 'connectionLost';
    case DisconnectReason.badSession:
    case DisconnectReason.forbidden:
    case DisconnectReason.unavailableService:
      return 'unavailable';
    default:
      return 'connectionLost';
  }
}

/**
 * Messages whose chat or sender is still a LID (WhatsApp sent no phone number
 * beside it) get the phone number from the LID mappings the session has
 * learnt (history sync, usync), where it knows one.
 */
async function withPhoneNumbers(socket: WASocket, messages: IncomingMessage[]): Promise<IncomingMessage[]> {
  const lids = [...new Set(messages.flatMap((m) => [m.chatId, m.from, m.to]).filter((jid) => jid.endsWith('@lid')))];
  if (lids.length === 0) return messages;
  const found = (await socket.signalRepository.lidMapping.getPNsForLIDs(lids).catch(() => null)) ?? [];
  const pnOf = new Map(found.map(({ lid, pn }) => [lid, jidNormalizedUser(pn)]));
  const resolve = (jid: string) => pnOf.get(jid) ?? jid;
  return messages.map((m) => ({ ...m, chatId: resolve(m.chatId), from: resolve(m.from), to: resolve(m.to) }));
}

/** Callers named by LID alone get their phone number from the LID mappings the session has learnt, where it knows one. */
async function callersWithPhoneNumbers(socket: WASocket, calls: IncomingCall[]): Promise<IncomingCall[]> {
  const lids = [...new Set(calls.map((c) => c.from).filter((jid) => isLidUser(jid)))];
  if (lids.length === 0) return calls;
  const found = (await socket.signalRepository.lidMapping.getPNsForLIDs(lids).catch(() => null)) ?? [];
  const pnOf = new Map(found.map(({ lid, pn }) => [lid, jidNormalizedUser(pn)]));
  return calls.map((c) => ({ ...c, from: pnOf.get(c.from) ?? c.from }));
}
