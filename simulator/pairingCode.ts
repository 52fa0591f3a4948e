/**
 * Pairing by phone-number code, from the phone's side. A new device (not yet
 * linked) asks for a code for a number: it sends `link_code_companion_reg`
 * stage `companion_hello` with its ephemeral public key encrypted under a key
 * derived from the code (PBKDF2). The user types the code on the phone of
 * that number: the phone decrypts the device's key with it, sends
 * `primary_hello` (its own ephemeral key, wrapped the same way, and the
 * account's identity key), and checks the device's `companion_finish`: a key
 * bundle only a device holding the same code can have encrypted (AES-GCM
 * under the shared secret). Both sides then derive the ADV secret, and the
 * phone links the device as a QR scan does (pair-success).
 */
import { createCipheriv, createDecipheriv, hkdfSync, pbkdf2Sync, randomBytes } from 'node:crypto';
import { Curve, type BinaryNode } from '@whiskeysockets/baileys';
import type { SimConnection } from './connection.js';
import { newKeyPair, type KeyPair } from './keys.js';
import { bytes, child, iqError, iqResult, unixNow, S_WHATSAPP_NET } from './nodes.js';
import type { SimUser } from './directory.js';

/** A device waiting for the code to be typed on the phone of its number. */
interface WaitingDevice {
  conn: SimConnection;
  phone: string;
  ref: Buffer;
  /** salt (32) ‖ iv (16) ‖ AES-CTR(companion ephemeral public key) under PBKDF2(code, salt). */
  wrappedEphemeral: Buffer;
  /** Set while the phone waits for the device's companion_finish. */
  finishing?: (iq: BinaryNode) => BinaryNode;
}

export class PairingCodeError extends Error {
  constructor(
    message: string,
    /** `wrongCode`: the code typed does not match the device's; `noDevice`: no device waits for this number. */
    readonly kind: 'wrongCode' | 'noDevice' | 'noAnswer',
  ) {
    super(message);
  }
}

const PBKDF2_ITERATIONS = 2 << 16;
const FINISH_TIMEOUT_MS = 15_000;

export class PairingCodes {
  private readonly waiting = new Map<string, WaitingDevice>();

  /** `link_code_companion_reg` iqs from a device that is registering (showing QR codes). */
  answer(conn: SimConnection, iq: BinaryNode): BinaryNode | undefined {
    const reg = child(iq, 'link_code_companion_reg');
    if (!reg) return undefined;
    const phone = reg.attrs.jid?.split(/[@:]/)[0] ?? '';
    if (reg.attrs.stage === 'companion_hello') {
      const wrappedEphemeral = bytes(child(reg, 'link_code_pairing_wrapped_companion_ephemeral_pub'));
      const serverAuthKey = bytes(child(reg, 'companion_server_auth_key_pub'));
      if (!conn.registration || !/^\d{6,15}$/.test(phone) || wrappedEphemeral?.length !== 80) return iqError(iq, 400, 'bad-request');
      // The device names its Noise key: it must be the one this connection registers.
      if (!serverAuthKey?.equals(conn.registration.noiseKey)) return iqError(iq, 401, 'not-authorized');
      const ref = randomBytes(32);
      this.waiting.set(phone, { conn, phone, ref, wrappedEphemeral });
      return iqResult(iq, [
        { tag: 'link_code_companion_reg', attrs: {}, content: [{ tag: 'link_code_pairing_ref', attrs: {}, content: ref }] },
      ]);
    }
    if (reg.attrs.stage === 'companion_finish') {
      const device = this.waiting.get(phone);
      if (!device?.finishing || device.conn !== conn) return iqError(iq, 400, 'bad-request');
      return device.finishing(iq);
    }
    return iqError(iq, 400, 'bad-request');
  }

  /** A device of this connection waits for a code (used when the connection ends). */
  forget(conn: SimConnection): void {
    for (const [phone, device] of this.waiting) if (device.conn === conn) this.waiting.delete(phone);
  }

  /** Whether a device waits for the code of this number. */
  isWaiting(phone: string): boolean {
    const device = this.waiting.get(phone);
    return !!device && device.conn.isOpen;
  }

  /**
   * The user types `code` on the phone of `user`. Resolves with the device's
   * connection and the ADV secret both sides now share (the caller links the
   * device); rejects with a PairingCodeError when no device waits for this
   * number, or the code is not the device's (the device stays unpaired and
   * may be given the right code).
   */
  async enter(user: SimUser, typed: string): Promise<{ conn: SimConnection; advSecret: Buffer }> {
    const device = this.waiting.get(user.phone);
    if (!device?.conn.isOpen) throw new PairingCodeError(`no device is waiting for a pairing code for ${user.phone}`, 'noDevice');
    if (device.finishing) throw new PairingCodeError(`a code for ${user.phone} is being checked`, 'noDevice');
    // Codes are shown as ABCD-EFGH; people type them in either case.
    const code = typed.replace(/[\s-]/g, '').toUpperCase();
    const companionEphemeral = unwrap(device.wrappedEphemeral, code);
    const primaryEphemeral = newKeyPair();

    const finished = new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(() => {
        device.finishing = undefined;
        reject(new PairingCodeError('the device did not answer the pairing code', 'noAnswer'));
      }, FINISH_TIMEOUT_MS);
      device.finishing = (iq) => {
        clearTimeout(timer);
        device.finishing = undefined;
        const outcome = checkFinish(iq, { companionEphemeral, primaryEphemeral, account: user.accountKey, device });
        // Settled after the answer is on its way: the pairing that follows comes after it.
        setImmediate(() => ('advSecret' in outcome ? resolve(outcome.advSecret) : reject(outcome.error)));
        return 'advSecret' in outcome ? iqResult(iq) : iqError(iq, 401, 'not-authorized');
      };
    });
    finished.catch(() => {});

    await device.conn.send({
      tag: 'notification',
      attrs: { from: S_WHATSAPP_NET, type: 'link_code_companion_reg', id: randomBytes(8).toString('hex').toUpperCase(), t: unixNow() },
      content: [
        {
          tag: 'link_code_companion_reg',
          attrs: { stage: 'primary_hello' },
          content: [
            { tag: 'link_code_pairing_ref', attrs: {}, content: device.ref },
            { tag: 'primary_identity_pub', attrs: {}, content: user.accountKey.public },
            { tag: 'link_code_pairing_wrapped_primary_ephemeral_pub', attrs: {}, content: wrap(primaryEphemeral.public, code) },
          ],
        },
      ],
    });
    const advSecret = await finished;
    this.waiting.delete(user.phone);
    return { conn: device.conn, advSecret };
  }
}

/** What the device's companion_finish proves: the ADV secret, or why the pairing fails. */
function checkFinish(
  iq: BinaryNode,
  keys: { companionEphemeral: Buffer; primaryEphemeral: KeyPair; account: KeyPair; device: WaitingDevice },
): { advSecret: Buffer } | { error: PairingCodeError } {
  const reg = child(iq, 'link_code_companion_reg');
  const bundle = bytes(child(reg, 'link_code_pairing_wrapped_key_bundle'));
  const companionIdentity = bytes(child(reg, 'companion_identity_public'));
  const ref = bytes(child(reg, 'link_code_pairing_ref'));
  const registration = keys.device.conn.registration;
  if (!bundle || bundle.length < 32 + 12 + 16 || !companionIdentity || !ref?.equals(keys.device.ref) || !registration) {
    return { error: new PairingCodeError('the device sent an incomplete companion_finish', 'noAnswer') };
  }
  const companionShared = Buffer.from(Curve.sharedKey(keys.primaryEphemeral.private, keys.companionEphemeral));
  const bundleKey = Buffer.from(
    hkdfSync('sha256', companionShared, bundle.subarray(0, 32), 'link_code_pairing_key_bundle_encryption_key', 32),
  );
  let payload: Buffer;
  try {
    const iv = bundle.subarray(32, 44);
    const sealed = bundle.subarray(44);
    const decipher = createDecipheriv('aes-256-gcm', bundleKey, iv);
    decipher.setAuthTag(sealed.subarray(sealed.length - 16));
    payload = Buffer.concat([decipher.update(sealed.subarray(0, sealed.length - 16)), decipher.final()]);
  } catch {
    // Only a device that used the same code shares this secret with the phone.
    return { error: new PairingCodeError('wrong pairing code: the code typed on the phone is not the one the device showed', 'wrongCode') };
  }
  const [identity, primaryIdentity, random] = [payload.subarray(0, 32), payload.subarray(32, 64), payload.subarray(64, 96)];
  if (!identity.equals(companionIdentity) || !identity.equals(registration.identityKey) || !primaryIdentity.equals(keys.account.public)) {
    return { error: new PairingCodeError('the key bundle of companion_finish names other keys', 'wrongCode') };
  }
  const identityShared = Buffer.from(Curve.sharedKey(keys.account.private, identity));
  const advSecret = Buffer.from(
    hkdfSync('sha256', Buffer.concat([companionShared, identityShared, random]), Buffer.alloc(0), 'adv_secret', 32),
  );
  return { advSecret };
}

const codeKey = (code: string, salt: Buffer) => pbkdf2Sync(Buffer.from(code, 'utf8'), salt, PBKDF2_ITERATIONS, 32, 'sha256');

/** salt ‖ iv ‖ AES-256-CTR(key) under the code's key, as both sides wrap their ephemeral keys. */
function wrap(publicKey: Buffer, code: string): Buffer {
  const salt = randomBytes(32);
  const iv = randomBytes(16);
  const cipher = createCipheriv('aes-256-ctr', codeKey(code, salt), iv);
  return Buffer.concat([salt, iv, cipher.update(publicKey), cipher.final()]);
}

/** The other side's ephemeral key; with a wrong code, 32 bytes of nonsense (CTR cannot tell). */
function unwrap(wrapped: Buffer, code: string): Buffer {
  const decipher = createDecipheriv('aes-256-ctr', codeKey(code, wrapped.subarray(0, 32)), wrapped.subarray(32, 48));
  return Buffer.concat([decipher.update(wrapped.subarray(48, 80)), decipher.final()]);
}
