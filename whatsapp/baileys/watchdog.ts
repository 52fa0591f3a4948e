/**
 * A connection that looks open but hears nothing: the socket is up, but
 * WhatsApp neither acknowledges what it is sent nor delivers anything (peers'
 * most common complaint: "open", and messages stop). Every message sent waits
 * for the server's ack; when one has waited ACK_STALL_MS, the watchdog probes
 * the connection with a ping (a query WhatsApp always answers). No answer
 * within PROBE_TIMEOUT_MS: the connection is dead, and it is ended as lost
 * (the session reconnects from its stored credentials, no QR). An answer, but
 * acks still missing after GIVE_UP_MS: ended all the same. A connection
 * silent altogether is ended by Baileys' own keep-alive (no frame for 35 s).
 *
 * The messages never acknowledged are named when the connection ends
 * (SessionClose.unacked): the gateway sends them again, with the same ids, on
 * the next connection (WhatsApp keeps one copy per id).
 */
import { DisconnectReason, S_WHATSAPP_NET, type BinaryNode, type WASocket } from '@whiskeysockets/baileys';
import type { Logger } from 'pino';

export interface WatchdogOptions {
  /** A sent message without the server's ack this long makes the watchdog probe. */
  ackStallMs: number;
  /** How long the probe's ping may take. */
  probeTimeoutMs: number;
  /** Acks still missing this long, though pings are answered: the connection is ended all the same. */
  giveUpMs: number;
  checkEveryMs: number;
}

export const WATCHDOG_DEFAULTS: WatchdogOptions = { ackStallMs: 15_000, probeTimeoutMs: 10_000, giveUpMs: 60_000, checkEveryMs: 5_000 };

export class Watchdog {
  /** Sent messages waiting for the server's ack: id → when sent. */
  private readonly awaiting = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private probing = false;
  private ended = false;

  constructor(
    private readonly socket: WASocket,
    private readonly logger: Logger,
    private readonly onUnresponsive: (reason: string) => void,
    private readonly options: WatchdogOptions = WATCHDOG_DEFAULTS,
  ) {
    // Any ack of a message, an error or not: the server heard it.
    socket.ws.on('CB:ack,class:message', (node: BinaryNode) => node.attrs.id && this.awaiting.delete(node.attrs.id));
  }

  private open = false;

  /** The connection is open: watch it (while messages wait for their acks: an idle session has no timer). */
  start(): void {
    this.open = true;
    this.arm();
  }

  /** A message goes onto the socket. */
  sent(id: string): void {
    if (!this.awaiting.has(id)) this.awaiting.set(id, Date.now());
    this.arm();
  }

  private arm(): void {
    if (!this.open || this.ended || this.timer || this.awaiting.size === 0) return;
    this.timer = setInterval(() => void this.check(), this.options.checkEveryMs);
    this.timer.unref();
  }

  /** The message was not written after all. */
  forget(id: string): void {
    this.awaiting.delete(id);
  }

  /** The messages sent on this connection that the server never acknowledged. */
  unacked(): string[] {
    return [...this.awaiting.keys()];
  }

  stop(): void {
    this.ended = true;
    clearInterval(this.timer);
  }

  private async check(): Promise<void> {
    if (this.awaiting.size === 0) {
      clearInterval(this.timer);
      this.timer = undefined;
      return;
    }
    if (this.ended || this.probing) return;
    const oldest = Math.min(...this.awaiting.values());
    const waited = Date.now() - oldest;
    if (waited < this.options.ackStallMs) return;
    this.probing = true;
    try {
      const answered = await this.socket
        .query(
          { tag: 'iq', attrs: { to: S_WHATSAPP_NET, type: 'get', xmlns: 'w:p' }, content: [{ tag: 'ping', attrs: {} }] },
          this.options.probeTimeoutMs,
        )
        .then(
          () => true,
          () => false,
        );
      if (this.ended) return;
      const count = this.awaiting.size;
      if (!answered)
        return this.unresponsive(
          `WhatsApp stopped answering: ${count} message(s) without the server's ack for ${Math.round(waited / 1000)} s, and no answer to a ping in ${this.options.probeTimeoutMs / 1000} s`,
        );
      if (Date.now() - oldest >= this.options.giveUpMs)
        return this.unresponsive(
          `WhatsApp answers pings but acknowledged none of ${count} message(s) for ${Math.round((Date.now() - oldest) / 1000)} s`,
        );
      this.logger.info({ unacked: count, waitedMs: waited }, 'messages wait for the server’s ack; the connection answers a ping');
    } finally {
      this.probing = false;
    }
  }

  private unresponsive(reason: string): void {
    this.stop();
    this.logger.warn({ unacked: this.awaiting.size }, reason);
    this.onUnresponsive(reason);
    this.socket.end(Object.assign(new Error(reason), { output: { statusCode: DisconnectReason.connectionLost } }) as never);
  }
}
