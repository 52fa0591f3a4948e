/**
 * One Baileys connection's lifecycle: what its parts share (SessionContext),
 * opening (and telling the gateway which account logged in), registering (a QR
 * shown, a pairing code asked for), and closing once the session's credentials
 * and keys are stored.
 */
import type { Logger } from 'pino';
import { DisconnectReason, type BaileysEventMap, type WASocket } from '@whiskeysockets/baileys';
import type { Account, CloseReason, SessionClose, SessionEventHandlers } from '../session.js';
import { PairingRefused } from '../session.js';
import type { loadAuthState } from './authState.js';
import type { SessionProxy } from './proxy.js';
import type { ILogger } from '@whiskeysockets/baileys/lib/Utils/logger.js';

/** What the parts of one connection share. */
export interface SessionContext {
  socket: WASocket;
  state: Awaited<ReturnType<typeof loadAuthState>>;
  handlers: SessionEventHandlers;
  logger: Logger;
  /** Baileys' own logger (a child of `logger`, see logger.ts). */
  baileysLogger: ILogger;
  /** For media uploads and downloads: the CA's or the proxy's dispatcher. */
  fetchOptions: RequestInit;
  proxy: SessionProxy | undefined;
}

const SESSION_FLUSH_TIMEOUT_MS = 15_000;

/**
 * A server that answers the websocket upgrade with an HTTP error (503, a proxy's 502...) would
 * otherwise leave Baileys waiting forever: end the socket so the session retries with backoff.
 */
export function endOnRefusedUpgrade({ socket, proxy }: SessionContext): void {
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
}

export class ConnectionLifecycle {
  readonly closed: Promise<SessionClose>;
  private resolveClosed!: (close: SessionClose) => void;
  private closingOnPurpose = false;
  private isOpen = false;
  private readonly openWaiters = new Set<() => void>();
  /** A QR was shown: the device is registering, and may ask for a pairing code instead. */
  private registering = false;
  private readonly registeringWaiters = new Set<() => void>();
  private announced: Account | undefined;

  constructor(private readonly ctx: SessionContext) {
    this.closed = new Promise<SessionClose>((resolve) => (this.resolveClosed = resolve));
  }

  /** Tells the gateway the account is logged in, when open, and again when its name changes. */
  announce(): void {
    const me = this.ctx.state.creds.me;
    if (!this.isOpen || !me?.id) return;
    const account = { id: me.id, name: me.name ?? this.ctx.socket.user?.name ?? null, phone: me.id.split(/[:@]/)[0]! };
    if (this.announced && this.announced.id === account.id && this.announced.name === account.name) return;
    this.announced = account;
    this.ctx.handlers.open(account);
  }

  /** Baileys' `connection.update`: a QR shown, the connection open, or closed. */
  onUpdate(update: BaileysEventMap['connection.update']): void {
    if (update.qr) {
      this.ctx.handlers.qr(update.qr);
      this.registering = true;
      wakeAll(this.registeringWaiters);
    }
    if (update.connection === 'open') {
      this.isOpen = true;
      wakeAll(this.openWaiters);
      this.announce();
    }
    if (update.connection === 'close') this.ended(update.lastDisconnect?.error);
  }

  private ended(lastError: Error | undefined): void {
    const { state, logger } = this.ctx;
    this.isOpen = false;
    // A pairing code was asked for but never entered: Baileys put the number in `me`, which would make the
    // next connection log in as a device WhatsApp never linked (refused as logged out). Register afresh.
    if (state.creds.me && !state.creds.account) {
      state.creds.me = undefined;
      state.creds.pairingCode = undefined;
      state.saved.save().catch((err) => logger.error({ err }, 'the session credentials could not be stored'));
    }
    const error = lastError as { message?: string; output?: { statusCode?: number } } | undefined;
    const close: SessionClose = this.closingOnPurpose
      ? { reason: 'closed' }
      : { reason: closeReason(error?.output?.statusCode, error?.message), message: error?.message };
    const stored = this.storeAll(close);
    this.ctx.proxy?.close();
    void stored.then(() => this.resolveClosed(close));
  }

  /**
   * The session ends once its credentials and keys are stored: whoever resumes it reads them next
   * (right away after a 515 restart). A logged-out account's keys are void (and about to be
   * cleared, as are its credentials, so a write under way must land before that).
   */
  private storeAll(close: SessionClose): Promise<unknown> {
    const { state, logger } = this.ctx;
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
    return Promise.all([keysDone, credsDone]);
  }

  async close(): Promise<void> {
    this.closingOnPurpose = true;
    this.ctx.socket.end(undefined);
    await this.closed;
  }

  async logout(): Promise<void> {
    await this.ctx.socket.logout();
    await this.closed;
  }

  waitOpen(timeoutMs: number): Promise<void> {
    if (this.isOpen) return Promise.resolve();
    return waitForWake(this.openWaiters, timeoutMs, () => new Error('the WhatsApp connection is not open'));
  }

  async requestPairingCode(phone: string): Promise<string> {
    const { state, socket } = this.ctx;
    if (this.isOpen || state.creds.account) throw new PairingRefused('alreadyPaired', 'the device is paired already');
    if (!this.registering) {
      // Connecting: WhatsApp is about to show the first QR (a code can be asked for from then on).
      await waitForWake(
        this.registeringWaiters,
        10_000,
        () => new PairingRefused('notRegistering', 'the connection is not waiting for a pairing (no QR was shown)'),
      );
    }
    if (this.isOpen || state.creds.account) throw new PairingRefused('alreadyPaired', 'the device is paired already');
    return socket.requestPairingCode(phone);
  }
}

function wakeAll(waiters: Set<() => void>): void {
  for (const wake of waiters) wake();
  waiters.clear();
}

/** Resolves when woken through `waiters`, or rejects with `timedOut()` after `timeoutMs`. */
function waitForWake(waiters: Set<() => void>, timeoutMs: number, timedOut: () => Error): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      waiters.delete(wake);
      reject(timedOut());
    }, timeoutMs);
    const wake = () => {
      clearTimeout(timer);
      resolve();
    };
    waiters.add(wake);
  });
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
