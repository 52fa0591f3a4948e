/**
 * The session interface: everything the gateway needs from a WhatsApp
 * connection. Only `whatsapp/baileys/` implements it with Baileys; the rest of
 * the system (activities, workers, API) sees these types and nothing else.
 */
import type { Logger } from 'pino';

export type ConnectionStatus = 'open' | 'connecting' | 'disconnected';

export interface Account {
  /** Device JID, e.g. `905xx:12@s.whatsapp.net`. */
  id: string;
  name: string | null;
  phone: string;
}

/** Why a connection ended; decides whether and how the holder reconnects. */
export type CloseReason =
  /** Credentials are void (logged out here or removed from the phone): a new QR scan is needed. */
  | 'loggedOut'
  /** WhatsApp asks for an immediate reconnect (after pairing, for example). */
  | 'restartRequired'
  /** The network or the server dropped the socket: reconnect with backoff. */
  | 'connectionLost'
  /** Another client opened a session with the same credentials. */
  | 'replaced'
  /** Nobody scanned the QR before its references ran out. */
  | 'qrTimeout'
  /** WhatsApp refused the session for now (503, 403, bad session): retry later. */
  | 'unavailable'
  /** We closed it ourselves. */
  | 'closed';

export interface SessionClose {
  reason: CloseReason;
  message?: string;
}

export interface SessionEventHandlers {
  /** A QR code text to show for pairing; replaced by each new one. */
  qr(qr: string): void;
  /** The connection is open and logged in. */
  open(account: Account): void;
}

export interface WhatsAppSession {
  /** Resolves once, when the connection has ended for good (a new session is needed to go on). */
  readonly closed: Promise<SessionClose>;
  /** Closes the socket and keeps the credentials, so the session can resume elsewhere. */
  close(): Promise<void>;
  /** Logs this device out of WhatsApp; the stored credentials become void. */
  logout(): Promise<void>;
}

/**
 * Where a session keeps its credentials. Values are opaque strings whose
 * encoding belongs to the driver; the store only persists them.
 */
export interface AuthStore {
  readCreds(): Promise<string | null>;
  writeCreds(creds: string): Promise<void>;
  readKeys(type: string, ids: string[]): Promise<Record<string, string>>;
  writeKeys(changes: Array<{ type: string; id: string; value: string | null }>): Promise<void>;
  clear(): Promise<void>;
}

export interface ConnectOptions {
  instanceId: string;
  auth: AuthStore;
  handlers: SessionEventHandlers;
  logger: Logger;
}

export interface WhatsAppDriver {
  connect(options: ConnectOptions): Promise<WhatsAppSession>;
}
