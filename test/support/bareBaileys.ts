/**
 * A bare Baileys client (no gateway) with credentials in memory: what the
 * simulator's own tests and the send-rate benchmark connect with.
 */
import { EventEmitter } from 'node:events';
import { Agent as HttpsAgent } from 'node:https';
import { Agent as UndiciAgent } from 'undici';
import pino from 'pino';
import {
  makeWASocket,
  initAuthCreds,
  makeCacheableSignalKeyStore,
  downloadMediaMessage,
  DisconnectReason,
  type WAMessage,
  type AuthenticationCreds,
  type SignalDataTypeMap,
  type WASocket,
} from '@whiskeysockets/baileys';
import { WA_VERSION as SIMULATED_VERSION } from '../../simulator/version.js';

/** simulator/version.ts's version, as Baileys takes it. */
export const WA_VERSION = SIMULATED_VERSION.split('.').map(Number) as [number, number, number];

export class BareClient extends EventEmitter {
  creds: AuthenticationCreds = initAuthCreds();
  private readonly keys = new Map<string, unknown>();
  socket: WASocket | undefined;
  qr: string | undefined;
  open = false;
  private stopped = false;
  /** Baileys' media uploads go through node:https with this agent (socket option `fetchAgent`). */
  private readonly httpsAgent: HttpsAgent | undefined;
  /** Downloads use global fetch, which takes an undici dispatcher (`options.dispatcher`). */
  readonly fetchOptions: { dispatcher?: UndiciAgent };

  /**
   * `ca`: PEM of an extra certificate authority to trust (the simulator's `media.caPem`).
   * `emitOwnEvents`: Baileys' option (default true: what the socket sends comes back as messages.upsert).
   */
  constructor(
    private readonly url: string,
    private readonly options: { ca?: string | Buffer; emitOwnEvents?: boolean } = {},
  ) {
    super();
    this.httpsAgent = options.ca ? new HttpsAgent({ ca: options.ca }) : undefined;
    this.fetchOptions = options.ca ? { dispatcher: new UndiciAgent({ connect: { ca: options.ca } }) } : {};
  }

  /** Downloads and decrypts the media of a received message, trusting the client's CA. */
  download(message: WAMessage): Promise<Buffer> {
    return downloadMediaMessage(message, 'buffer', { options: this.fetchOptions as RequestInit });
  }

  connect(): void {
    const store = {
      get: async <T extends keyof SignalDataTypeMap>(type: T, ids: string[]) =>
        Object.fromEntries(ids.map((id) => [id, this.keys.get(`${type}:${id}`)]).filter(([, v]) => v !== undefined)) as {
          [id: string]: SignalDataTypeMap[T];
        },
      set: async (data: Record<string, Record<string, unknown>>) => {
        for (const [type, entries] of Object.entries(data)) {
          for (const [id, value] of Object.entries(entries ?? {}))
            value ? this.keys.set(`${type}:${id}`, value) : this.keys.delete(`${type}:${id}`);
        }
      },
    };
    const logger = pino({ level: process.env.BAILEYS_LOG ?? 'silent' });
    const socket = makeWASocket({
      auth: { creds: this.creds, keys: makeCacheableSignalKeyStore(store, logger) },
      waWebSocketUrl: this.url,
      version: WA_VERSION,
      logger,
      markOnlineOnConnect: false,
      syncFullHistory: false,
      emitOwnEvents: this.options.emitOwnEvents ?? true,
      // The websocket is plain ws:// here, so `agent` (for wss) stays unset.
      ...(this.httpsAgent ? { fetchAgent: this.httpsAgent, options: this.fetchOptions as RequestInit } : {}),
    });
    this.socket = socket;
    socket.ev.on('creds.update', (update) => Object.assign(this.creds, update));
    socket.ev.on('connection.update', (update) => {
      if (update.qr) {
        this.qr = update.qr;
        this.emit('qr', update.qr);
      }
      if (update.connection === 'open') {
        this.open = true;
        this.emit('open');
      }
      if (update.connection === 'close') {
        this.open = false;
        const code = (update.lastDisconnect?.error as { output?: { statusCode?: number } } | undefined)?.output?.statusCode;
        this.emit('close', code);
        if (!this.stopped && code === DisconnectReason.restartRequired) this.connect();
      }
    });
    socket.ev.on('messages.upsert', (upsert) => this.emit('messages', upsert));
    socket.ev.on('messages.update', (updates) => this.emit('updates', updates));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.socket?.end(undefined);
  }
}

export function waitFor<T = unknown>(
  emitter: EventEmitter,
  event: string,
  timeoutMs = 15_000,
  filter: (value: T) => boolean = () => true,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      emitter.off(event, listener);
      reject(new Error(`timed out waiting for ${event}`));
    }, timeoutMs);
    const listener = (value: T) => {
      if (!filter(value)) return;
      clearTimeout(timer);
      emitter.off(event, listener);
      resolve(value);
    };
    emitter.on(event, listener);
  });
}
