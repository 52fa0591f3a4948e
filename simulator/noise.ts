/**
 * The server side of WhatsApp Web's Noise XX handshake, and the framing of the
 * transport that follows. Mirrors Baileys' client (`makeNoiseHandler`): the
 * same hash/key schedule with the roles of the two transport keys swapped.
 */
import { createCipheriv, createDecipheriv, createHash, hkdfSync } from 'node:crypto';
import { Curve, NOISE_MODE, NOISE_WA_HEADER, proto, decodeBinaryNode, encodeBinaryNode, type BinaryNode } from '@whiskeysockets/baileys';
import { newKeyPair, type KeyPair } from './keys.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest();

function gcm(mode: 'encrypt' | 'decrypt', key: Uint8Array, counter: number, aad: Uint8Array, data: Uint8Array): Buffer {
  const iv = Buffer.alloc(12);
  iv.writeUInt32BE(counter, 8);
  if (mode === 'encrypt') {
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(aad);
    return Buffer.concat([cipher.update(data), cipher.final(), cipher.getAuthTag()]);
  }
  const decipher = createDecipheriv('aes-256-gcm', key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(data.subarray(data.length - 16));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]);
}

class Transport {
  private readCounter = 0;
  private writeCounter = 0;
  constructor(
    private readonly encKey: Buffer,
    private readonly decKey: Buffer,
  ) {}
  encrypt(plaintext: Uint8Array): Buffer {
    return gcm('encrypt', this.encKey, this.writeCounter++, Buffer.alloc(0), plaintext);
  }
  decrypt(ciphertext: Uint8Array): Buffer {
    return gcm('decrypt', this.decKey, this.readCounter++, Buffer.alloc(0), ciphertext);
  }
}

export interface ClientHello {
  payload: proto.ClientPayload;
  /** The client's static Noise key: its identity towards the server. */
  clientStatic: Buffer;
}

/**
 * One connection's Noise state. Feed it raw websocket bytes with `receive`;
 * it yields handshake messages first, then decoded binary nodes.
 */
export class NoiseResponder {
  private hash: Buffer;
  private salt: Buffer;
  private key: Buffer;
  private counter = 0;
  private transport: Transport | undefined;
  private buffered = Buffer.alloc(0);
  private sawIntro = false;
  private ephemeral: KeyPair | undefined;

  constructor(
    private readonly serverStatic: KeyPair,
    private readonly certificate: Uint8Array,
  ) {
    const mode = Buffer.from(NOISE_MODE);
    this.hash = mode.length === 32 ? mode : sha256(mode);
    this.salt = this.hash;
    this.key = this.hash;
    this.authenticate(NOISE_WA_HEADER);
  }

  get ready(): boolean {
    return this.transport !== undefined;
  }

  private authenticate(data: Uint8Array) {
    if (!this.transport) this.hash = sha256(Buffer.concat([this.hash, data]));
  }
  private mixIntoKey(data: Uint8Array) {
    const okm = Buffer.from(hkdfSync('sha256', data, this.salt, Buffer.alloc(0), 64));
    this.salt = okm.subarray(0, 32);
    this.key = okm.subarray(32);
    this.counter = 0;
  }
  private encrypt(plaintext: Uint8Array): Buffer {
    const result = gcm('encrypt', this.key, this.counter++, this.hash, plaintext);
    this.authenticate(result);
    return result;
  }
  private decrypt(ciphertext: Uint8Array): Buffer {
    const result = gcm('decrypt', this.key, this.counter++, this.hash, ciphertext);
    this.authenticate(ciphertext);
    return result;
  }

  /** Splits raw bytes into frames (dropping the client's intro header once). */
  receive(data: Buffer): Buffer[] {
    this.buffered = Buffer.concat([this.buffered, data]);
    if (!this.sawIntro) {
      if (this.buffered.length < 4) return [];
      if (this.buffered.subarray(0, 2).toString() === 'ED') {
        // Routing-info variant: "ED", 0, 1, 3-byte length, routing info, then the WA header.
        const length = (this.buffered[4]! << 16) | this.buffered.readUInt16BE(5);
        if (this.buffered.length < 7 + length + 4) return [];
        this.buffered = this.buffered.subarray(7 + length);
      }
      if (!this.buffered.subarray(0, 4).equals(NOISE_WA_HEADER)) throw new Error('not a WhatsApp Web client (bad intro header)');
      this.buffered = this.buffered.subarray(4);
      this.sawIntro = true;
    }
    const frames: Buffer[] = [];
    while (this.buffered.length >= 3) {
      const size = (this.buffered[0]! << 16) | (this.buffered[1]! << 8) | this.buffered[2]!;
      if (this.buffered.length < size + 3) break;
      frames.push(this.buffered.subarray(3, size + 3));
      this.buffered = this.buffered.subarray(size + 3);
    }
    return frames;
  }

  /** ClientHello in, ServerHello frame out. */
  serverHello(frame: Buffer): Buffer {
    const { clientHello } = proto.HandshakeMessage.decode(frame);
    if (!clientHello?.ephemeral) throw new Error('expected a ClientHello');
    const clientEphemeral = Buffer.from(clientHello.ephemeral);
    this.authenticate(clientEphemeral);
    const ephemeral = newKeyPair();
    this.ephemeral = ephemeral;
    this.authenticate(ephemeral.public);
    this.mixIntoKey(Curve.sharedKey(ephemeral.private, clientEphemeral));
    const staticEnc = this.encrypt(this.serverStatic.public);
    this.mixIntoKey(Curve.sharedKey(this.serverStatic.private, clientEphemeral));
    const payloadEnc = this.encrypt(this.certificate);
    const hello = proto.HandshakeMessage.encode({
      serverHello: { ephemeral: ephemeral.public, static: staticEnc, payload: payloadEnc },
    }).finish();
    return frameOf(hello);
  }

  /** ClientFinish in: the client's static key and its ClientPayload; switches to transport mode. */
  clientFinish(frame: Buffer): ClientHello {
    const { clientFinish } = proto.HandshakeMessage.decode(frame);
    if (!clientFinish?.static || !clientFinish.payload || !this.ephemeral) throw new Error('expected a ClientFinish');
    const clientStatic = this.decrypt(clientFinish.static);
    this.mixIntoKey(Curve.sharedKey(this.ephemeral.private, clientStatic));
    const payload = proto.ClientPayload.decode(this.decrypt(clientFinish.payload));
    const okm = Buffer.from(hkdfSync('sha256', Buffer.alloc(0), this.salt, Buffer.alloc(0), 64));
    // The client writes with the first half and reads with the second.
    this.transport = new Transport(okm.subarray(32), okm.subarray(0, 32));
    return { payload, clientStatic };
  }

  async decodeNode(frame: Buffer): Promise<BinaryNode> {
    return decodeBinaryNode(this.transport!.decrypt(frame));
  }

  encodeNode(node: BinaryNode): Buffer {
    return frameOf(this.transport!.encrypt(encodeBinaryNode(node)));
  }
}

function frameOf(data: Uint8Array): Buffer {
  const frame = Buffer.alloc(3 + data.length);
  frame[0] = (data.length >>> 16) & 0xff;
  frame[1] = (data.length >>> 8) & 0xff;
  frame[2] = data.length & 0xff;
  frame.set(data, 3);
  return frame;
}
