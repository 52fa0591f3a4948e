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

/** What a phone's Signal device keeps across a restart of the simulator (state.ts): its keys and sessions. */
export interface SavedSignalDevice {
  identity: SignalKeyPair;
  registrationId: number;
  signedPreKey: { keyId: number; keyPair: SignalKeyPair; signature: Buffer };
  preKeys: [number, SignalKeyPair][];
  nextPreKeyId: number;
  /** libsignal's own serialization of each session record, by address. */
  sessions: [string, unknown][];
}

export class SignalDevice {
  readonly identity: SignalKeyPair;
  readonly registrationId: number;
  readonly signedPreKey: { keyId: number; keyPair: SignalKeyPair; signature: Buffer };
  private readonly preKeys = new Map<number, SignalKeyPair>();
  private readonly sessions = new Map<string, SessionRecord>();
  private nextPreKeyId = 1;

  /** A new device, or the one `saved` describes. */
  constructor(saved?: SavedSignalDevice) {
    if (saved) {
      this.identity = saved.identity;
      this.registrationId = saved.registrationId;
      this.signedPreKey = saved.signedPreKey;
      for (const [id, pair] of saved.preKeys) this.preKeys.set(id, pair);
      for (const [address, record] of saved.sessions) this.sessions.set(address, libsignal.SessionRecord.deserialize(record));
      this.nextPreKeyId = saved.nextPreKeyId;
      return;
    }
    this.identity = libsignal.keyhelper.generateIdentityKeyPair();
    this.registrationId = libsignal.keyhelper.generateRegistrationId();
    this.signedPreKey = libsignal.keyhelper.generateSignedPreKey(this.identity, 1);
    for (let i = 0; i < 5; i++) this.newPreKey();
  }

  save(): SavedSignalDevice {
    return {
      identity: this.identity,
      registrationId: this.registrationId,
      signedPreKey: this.signedPreKey,
      preKeys: [...this.preKeys],
      nextPreKeyId: this.nextPreKeyId,
      sessions: [...this.sessions].map(([address, record]) => [address, record.serialize()]),
    };
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
