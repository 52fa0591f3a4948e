import { readFileSync } from 'node:fs';
import { Agent } from 'node:https';
import {
  makeWASocket,
  makeCacheableSignalKeyStore,
  DisconnectReason,
  Browsers,
  type WASocket,
  type WAVersion,
} from '@whiskeysockets/baileys';
import type { CloseReason, ConnectOptions, SessionClose, WhatsAppDriver, WhatsAppSession } from '../session.js';
import { loadAuthState } from './authState.js';

export interface BaileysDriverOptions {
  /** WhatsApp Web websocket URL (a simulator's in tests and demos). */
  wsUrl: string;
  /** Pinned WhatsApp Web version "2.3000.x"; Baileys' default when unset. */
  version?: string;
  /** PEM file of extra certificate authorities to trust (a simulator's). */
  caFile?: string;
}

export function createBaileysDriver(options: BaileysDriverOptions): WhatsAppDriver {
  const version = options.version ? (options.version.split('.').map(Number) as WAVersion) : undefined;
  const agent = options.caFile ? new Agent({ ca: readFileSync(options.caFile), keepAlive: true }) : undefined;

  return {
    async connect({ auth, handlers, logger }: ConnectOptions): Promise<WhatsAppSession> {
      const state = await loadAuthState(auth);
      const baileysLogger = logger.child(
        { module: 'baileys' },
        { level: logger.level === 'debug' || logger.level === 'trace' ? 'debug' : 'warn' },
      );
      const socket: WASocket = makeWASocket({
        auth: { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, baileysLogger) },
        waWebSocketUrl: options.wsUrl,
        ...(version ? { version } : {}),
        ...(agent ? { agent, fetchAgent: agent } : {}),
        browser: Browsers.ubuntu('Chrome'),
        logger: baileysLogger as never,
        markOnlineOnConnect: false,
        syncFullHistory: false,
      });

      let resolveClosed!: (close: SessionClose) => void;
      const closed = new Promise<SessionClose>((resolve) => (resolveClosed = resolve));
      let closingOnPurpose = false;

      socket.ev.on('creds.update', () => {
        state.saveCreds().catch((err) => logger.error({ err }, 'saving session credentials failed'));
      });
      socket.ev.on('connection.update', (update) => {
        if (update.qr) handlers.qr(update.qr);
        if (update.connection === 'open' && socket.user) {
          const id = socket.user.id;
          handlers.open({ id, name: socket.user.name ?? state.creds.me?.name ?? null, phone: id.split(/[:@]/)[0]! });
        }
        if (update.connection === 'close') {
          const error = update.lastDisconnect?.error as { message?: string; output?: { statusCode?: number } } | undefined;
          resolveClosed(
            closingOnPurpose
              ? { reason: 'closed' }
              : { reason: closeReason(error?.output?.statusCode, error?.message), message: error?.message },
          );
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
      };
    },
  };
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
