/**
 * One client websocket: Noise handshake, then either registration (QR
 * pairing) or login, then stanzas. The protocol knowledge about what to answer
 * lives in iq.ts and messages.ts; this file is the lifecycle.
 */
import type { WebSocket } from 'ws';
import type { BinaryNode } from '@whiskeysockets/baileys';
import { NoiseResponder } from './noise.js';
import { lidJid, newRef, type Companion } from './directory.js';
import { decodeBigEndian, unixNow, S_WHATSAPP_NET } from './nodes.js';
import type { Simulator } from './simulator.js';

export interface PendingRegistration {
  noiseKey: Buffer;
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: { keyId: number; public: Buffer; signature: Buffer };
  platform: string;
  refs: string[];
}

let nextConnectionId = 1;

export class SimConnection {
  readonly id = nextConnectionId++;
  private readonly noise: NoiseResponder;
  private stage: 'hello' | 'finish' | 'transport' = 'hello';
  /** Set after a successful login. */
  companion: Companion | undefined;
  /** Set while a new device waits for its QR to be scanned. */
  registration: PendingRegistration | undefined;
  private queue = Promise.resolve();
  private closed = false;
  private iqCounter = 0;
  private readonly pendingIqs = new Map<string, (node: BinaryNode) => void>();
  /**
   * Receipts sent on this connection that the client has not acknowledged
   * yet, by id: like WhatsApp, the simulator delivers them again (to the
   * device's next connection) should this one close first.
   */
  readonly unacked = new Map<string, BinaryNode>();
  /**
   * A fault: the socket stays open, but the server neither answers nor
   * delivers on it (what the device sends is dropped, what is meant for the
   * device waits for its next connection, as for an offline device).
   */
  deaf = false;

  constructor(
    private readonly sim: Simulator,
    private readonly ws: WebSocket,
  ) {
    this.noise = new NoiseResponder(sim.identity.serverStatic, sim.identity.certificate);
    ws.on('message', (data: Buffer) => {
      // Frames are handled strictly in order, one at a time.
      this.queue = this.queue.then(() => this.receive(data)).catch((err) => this.fail(err));
    });
    ws.on('close', () => {
      this.closed = true;
      sim.forget(this);
    });
    ws.on('error', () => {});
  }

  get isOpen(): boolean {
    return !this.closed && this.ws.readyState === this.ws.OPEN;
  }

  private async receive(data: Buffer): Promise<void> {
    for (const frame of this.noise.receive(data)) {
      if (this.stage === 'hello') {
        this.ws.send(this.noise.serverHello(frame));
        this.stage = 'finish';
      } else if (this.stage === 'finish') {
        const { payload, clientStatic } = this.noise.clientFinish(frame);
        this.stage = 'transport';
        if (payload.devicePairingData) await this.startRegistration(payload, clientStatic);
        else await this.login(Number(payload.username), payload.device ?? 0, clientStatic);
      } else {
        const node = await this.noise.decodeNode(frame);
        this.sim.log('recv', this, node);
        await this.handle(node);
      }
    }
  }

  private async handle(node: BinaryNode): Promise<void> {
    if (this.deaf) return;
    if (node.tag === 'iq' && (node.attrs.type === 'result' || node.attrs.type === 'error')) {
      const waiter = this.pendingIqs.get(node.attrs.id!);
      if (waiter) {
        this.pendingIqs.delete(node.attrs.id!);
        waiter(node);
      }
      return;
    }
    await this.sim.dispatch(this, node);
  }

  async send(node: BinaryNode): Promise<void> {
    if (!this.isOpen || this.deaf) return;
    if (this.sim.faults.delayMs > 0) await new Promise((r) => setTimeout(r, this.sim.faults.delayMs));
    this.sim.log('send', this, node);
    this.ws.send(this.noise.encodeNode(node));
  }

  /** Sends an iq to the client and waits for its answer. */
  query(node: BinaryNode, timeoutMs = 10_000): Promise<BinaryNode> {
    const id = node.attrs.id ?? `sim-${this.id}-${++this.iqCounter}`;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pendingIqs.delete(id);
        reject(new Error(`no answer to iq ${id}`));
      }, timeoutMs);
      this.pendingIqs.set(id, (answer) => {
        clearTimeout(timer);
        resolve(answer);
      });
      void this.send({ ...node, attrs: { ...node.attrs, id } });
    });
  }

  private async startRegistration(payload: import('@whiskeysockets/baileys').proto.ClientPayload, clientStatic: Buffer): Promise<void> {
    const pairing = payload.devicePairingData!;
    this.registration = {
      noiseKey: clientStatic,
      identityKey: Buffer.from(pairing.eIdent!),
      registrationId: decodeBigEndian(Buffer.from(pairing.eRegid!)),
      signedPreKey: {
        keyId: decodeBigEndian(Buffer.from(pairing.eSkeyId!)),
        public: Buffer.from(pairing.eSkeyVal!),
        signature: Buffer.from(pairing.eSkeySig!),
      },
      platform: payload.userAgent?.platform !== undefined ? String(payload.userAgent.platform) : 'web',
      refs: Array.from({ length: 6 }, newRef),
    };
    this.sim.awaitScan(this);
    await this.send({
      tag: 'iq',
      attrs: { from: S_WHATSAPP_NET, type: 'set', id: `pair-${this.id}`, xmlns: 'md' },
      content: [
        {
          tag: 'pair-device',
          attrs: {},
          content: this.registration.refs.map((ref) => ({ tag: 'ref', attrs: {}, content: Buffer.from(ref) })),
        },
      ],
    });
  }

  private async login(phone: number, device: number, clientStatic: Buffer): Promise<void> {
    if (this.sim.faults.failLogins) return this.refuse(this.sim.faults.failLogins);
    const user = this.sim.directory.find(String(phone));
    const companion = user?.companions.get(device);
    // Unknown device, removed from the phone, or a different key: the credentials are void.
    if (!companion || companion.removed || !companion.noiseKey.equals(clientStatic)) {
      const reason = !user ? 'unknown account' : !companion ? 'unknown device' : companion.removed ? 'removed' : 'different key';
      this.sim.refuseLogin({ phone: String(phone), device, reason });
      return this.refuse(401);
    }
    this.companion = companion;
    this.sim.attach(this);
    await this.send({
      tag: 'success',
      attrs: { t: unixNow(), props: '1', abprops: '1', location: 'sim', creation: unixNow(), lid: lidJid(companion.user.lid, device) },
    });
    await this.sim.deliverOffline(this);
  }

  private async refuse(reason: number): Promise<void> {
    await this.send({ tag: 'failure', attrs: { reason: String(reason), location: 'sim' } });
    this.ws.close();
  }

  /** Ends the stream with an error (515 restart, 401 logged out, conflict...). */
  async streamError(attrs: Record<string, string>, content?: BinaryNode[]): Promise<void> {
    await this.send({ tag: 'stream:error', attrs, ...(content ? { content } : {}) });
    this.ws.close();
  }

  /** Drops the socket without a goodbye, like a network failure. */
  drop(): void {
    this.ws.terminate();
  }

  private fail(err: unknown): void {
    this.sim.log('error', this, { tag: 'error', attrs: { message: String((err as Error)?.stack ?? err) } });
    this.ws.terminate();
  }
}
