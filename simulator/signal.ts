/**
 * A simulated phone's Signal device (device 0 of a user), with the npm
 * `libsignal` that Baileys itself uses: it decrypts what the gateway sends and
 * encrypts what it receives.
 */
import { createRequire } from 'node:module';

// libsignal's own typings cover little of what it exports; it is used untyped here.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const libsignal: any = createRequire(import.meta.url)('libsignal');

type SessionRecord = { serialize(): unknown };

export interface SignalKeyPair {
  pubKey: Buffer; // 33 bytes, 0x05 prefix
  privKey: Buffer;
}

export class SignalDevice {
  readonly identity: SignalKeyPair = libsignal.keyhelper.generateIdentityKeyPair();
  readonly registrationId: number = libsignal.keyhelper.generateRegistrationId();
  readonly signedPreKey: { keyId: number; keyPair: SignalKeyPair; signature: Buffer };
  private readonly preKeys = new Map<number, SignalKeyPair>();
  private readonly sessions = new Map<string, SessionRecord>();
  private nextPreKeyId = 1;

  constructor() {
    this.signedPreKey = libsignal.keyhelper.generateSignedPreKey(this.identity, 1);
    for (let i = 0; i < 5; i++) this.newPreKey();
  }

  private newPreKey(): { keyId: number; keyPair: SignalKeyPair } {
    const preKey = libsignal.keyhelper.generatePreKey(this.nextPreKeyId++);
    this.preKeys.set(preKey.keyId, preKey.keyPair);
    return preKey;
  }

  /** A pre-key bundle for a sender that has no session yet (one one-time key each). */
  bundle(): {
    registrationId: number;
    identityKey: Buffer;
    signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
    preKey: { keyId: number; publicKey: Buffer };
  } {
    const preKey = this.newPreKey();
    return {
      registrationId: this.registrationId,
      identityKey: this.identity.pubKey,
      signedPreKey: { keyId: this.signedPreKey.keyId, publicKey: this.signedPreKey.keyPair.pubKey, signature: this.signedPreKey.signature },
      preKey: { keyId: preKey.keyId, publicKey: preKey.keyPair.pubKey },
    };
  }

  private store() {
    return {
      getOurIdentity: async () => this.identity,
      getOurRegistrationId: async () => this.registrationId,
      isTrustedIdentity: async () => true,
      loadPreKey: async (id: number) => {
        const pair = this.preKeys.get(Number(id));
        return pair ? { pubKey: pair.pubKey, privKey: pair.privKey } : undefined;
      },
      removePreKey: async (id: number) => void this.preKeys.delete(Number(id)),
      loadSignedPreKey: async () => this.signedPreKey.keyPair,
      loadSession: async (address: string) => this.sessions.get(address),
      storeSession: async (address: string, record: SessionRecord) => void this.sessions.set(address, record),
    };
  }

  private address(name: string, device: number) {
    return new libsignal.ProtocolAddress(name, device);
  }

  async decrypt(from: { name: string; device: number }, type: string, ciphertext: Buffer): Promise<Buffer> {
    const cipher = new libsignal.SessionCipher(this.store(), this.address(from.name, from.device));
    return Buffer.from(
      type === 'pkmsg' ? await cipher.decryptPreKeyWhisperMessage(ciphertext) : await cipher.decryptWhisperMessage(ciphertext),
    );
  }

  hasSession(to: { name: string; device: number }): boolean {
    return this.sessions.has(this.address(to.name, to.device).toString());
  }

  /** Starts a session from the recipient's uploaded pre-key bundle. */
  async startSession(
    to: { name: string; device: number },
    bundle: {
      registrationId: number;
      identityKey: Buffer;
      signedPreKey: { keyId: number; publicKey: Buffer; signature: Buffer };
      preKey?: { keyId: number; publicKey: Buffer };
    },
  ): Promise<void> {
    const builder = new libsignal.SessionBuilder(this.store(), this.address(to.name, to.device));
    await builder.initOutgoing(bundle);
  }

  async encrypt(to: { name: string; device: number }, plaintext: Buffer): Promise<{ type: 'pkmsg' | 'msg'; ciphertext: Buffer }> {
    const cipher = new libsignal.SessionCipher(this.store(), this.address(to.name, to.device));
    const { type, body } = await cipher.encrypt(plaintext);
    return { type: type === 3 ? 'pkmsg' : 'msg', ciphertext: Buffer.from(body, 'binary') };
  }
}
