import type { EventEmitter } from 'node:events';
import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { Agent as UndiciAgent } from 'undici';
import {
  makeWASocket,
  DisconnectReason,
  jidNormalizedUser,
  Browsers,
  downloadMediaMessage,
  generateWAMessage,
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
} from '../session.js';
import { loadAuthState } from './authState.js';
import { toBaileysContent } from './outbound.js';
import { cheapBaileysTimerStacks } from './stackTraces.js';
import { recordReceiptsFirst } from './receipts.js';
import { statusName, toIncoming, toStatusUpdates } from './inbound.js';
import { toChatInfo, toContactInfo, toGroupInfo, toLiveChatInfo } from './directory.js';
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
      socket.ev.on('group-participants.update', ({ id }) => handlers.groupsChanged?.([id]));
      socket.ev.on('groups.update', (updates) => handlers.groupsChanged?.(updates.flatMap((u) => (u.id ? [u.id] : []))));
      socket.ev.on('messages.update', (updates) => {
        const statuses = toStatusUpdates(notRecordedYet(updates));
        if (statuses.length) handlers.statuses?.(statuses);
      });
      socket.ev.on('connection.update', (update) => {
        if (update.qr) handlers.qr(update.qr);
        if (update.connection === 'open') {
          isOpen = true;
          for (const wake of openWaiters) wake();
          openWaiters.clear();
          announce();
        }
        if (update.connection === 'close') {
          isOpen = false;
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
        async groupMetadata(groupId) {
          return toGroupInfo(await socket.groupMetadata(groupId));
        },
        async participatingGroups() {
          return Object.values(await socket.groupFetchAllParticipating()).map(toGroupInfo);
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
