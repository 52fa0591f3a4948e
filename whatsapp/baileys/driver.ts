import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import { Agent as UndiciAgent } from 'undici';
import { readPollVote } from './polls.js';
import { channelMethods } from './channels.js';
import { makeWASocket, Browsers, type UserFacingSocketConfig, type WASocket, type WAVersion } from '@whiskeysockets/baileys';
import type { ConnectOptions, SessionClose, WhatsAppDriver, WhatsAppSession } from '../session.js';
import { sessionsUnresponsive } from '../../lib/metrics.js';
import { Watchdog } from './watchdog.js';
import { loadAuthState } from './authState.js';
import { ConnectionLifecycle, endOnRefusedUpgrade, type SessionContext } from './connection.js';
import { subscribeEvents } from './events.js';
import { contactMethods, groupMethods, messageMethods } from './sessionMethods.js';
import { cheapBaileysTimerStacks } from './stackTraces.js';
import { createSessionProxy, type SessionProxy } from './proxy.js';
import { baileysLogger } from './logger.js';

export { closeReason } from './connection.js';

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
  // downloads (global fetch; also passed to downloadMediaMessage, in sessionMethods.ts).
  const agent = ca ? new Agent({ ca, keepAlive: true }) : undefined;
  const directFetchOptions = ca ? { dispatcher: new UndiciAgent({ connect: { ca } }) } : {};
  const wss = options.wsUrl.startsWith('wss:');

  /** The agents of the socket's websocket and media uploads, and the options of its media transfers. */
  const transport = (proxy: SessionProxy | undefined, fetchOptions: RequestInit): Partial<UserFacingSocketConfig> => {
    if (proxy) return { agent: proxy.agent as Agent, fetchAgent: proxy.agent as Agent, options: fetchOptions };
    if (agent) return { ...(wss ? { agent } : {}), fetchAgent: agent, options: fetchOptions };
    return {};
  };

  return {
    async connect({ auth, handlers, logger, proxyUrl }: ConnectOptions): Promise<WhatsAppSession> {
      // Through a proxy, all three go through it: its agent serves ws:// and wss:// alike.
      const proxy = proxyUrl ? createSessionProxy(proxyUrl, ca) : undefined;
      const fetchOptions = (proxy ? { dispatcher: proxy.dispatcher } : directFetchOptions) as RequestInit;
      const state = await loadAuthState(auth, (err) => logger.warn({ err }, 'storing the session credentials failed; retrying'));
      const baileysLog = baileysLogger(
        logger.child(
          { module: 'baileys' },
          // Baileys is chatty: its warnings only, unless the gateway logs at debug (or more quietly than warn).
          { level: logger.isLevelEnabled('debug') ? 'debug' : logger.isLevelEnabled('warn') ? 'warn' : logger.level },
        ),
      );
      const socket: WASocket = makeWASocket({
        auth: { creds: state.creds, keys: state.keys },
        waWebSocketUrl: options.wsUrl,
        ...(version ? { version } : {}),
        ...transport(proxy, fetchOptions),
        browser: Browsers.ubuntu('Chrome'),
        logger: baileysLog,
        markOnlineOnConnect: false,
        syncFullHistory: false,
        // No echo of what this socket sends: the gateway stored each message (and its chat) before sending it.
        emitOwnEvents: false,
      });
      return startSession({ socket, state, handlers, logger, baileysLogger: baileysLog, fetchOptions, proxy });
    },
  };
}

/** Subscribes to the socket's events and gives the gateway its session. */
function startSession(ctx: SessionContext): WhatsAppSession {
  endOnRefusedUpgrade(ctx);
  const connection = new ConnectionLifecycle(ctx);
  /** Ids of the messages this session sent (the most recent ones). */
  const sentHere = new Set<string>();
  subscribeEvents(ctx, connection, sentHere);
  // A connection that looks open but hears nothing is ended, and what it never acknowledged is named.
  const watchdog = new Watchdog(ctx.socket, ctx.logger, () => sessionsUnresponsive.inc());
  ctx.socket.ev.on('connection.update', (update) => update.connection === 'open' && watchdog.start());
  const closed = connection.closed.then((close): SessionClose => {
    watchdog.stop();
    const unacked = watchdog.unacked();
    return unacked.length ? { ...close, unacked } : close;
  });
  const methods = messageMethods(ctx, sentHere);
  return {
    closed,
    close: () => connection.close(),
    logout: () => connection.logout(),
    waitOpen: (timeoutMs) => connection.waitOpen(timeoutMs),
    persisted: () => ctx.state.keys.persisted(),
    requestPairingCode: (phone) => connection.requestPairingCode(phone),
    readPollVote: (vote, poll) => readPollVote(vote, poll, { jid: ctx.state.creds.me?.id, lid: ctx.state.creds.me?.lid ?? undefined }),
    ...methods,
    async send(message, prepared) {
      // Watched from before it is written: its ack may come before the write returns.
      watchdog.sent(message.id);
      try {
        await methods.send(message, prepared);
      } catch (err) {
        watchdog.forget(message.id);
        throw err;
      }
    },
    ...contactMethods(ctx.socket),
    ...groupMethods(ctx.socket),
    ...channelMethods(ctx.socket),
  };
}
