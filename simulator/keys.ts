import { createHmac, randomInt } from 'node:crypto';
import { Curve, proto } from '@whiskeysockets/baileys';

export interface KeyPair {
  private: Buffer;
  public: Buffer;
}

export function newKeyPair(): KeyPair {
  const pair = Curve.generateKeyPair();
  return { private: Buffer.from(pair.private), public: Buffer.from(pair.public) };
}

/** The simulator's Noise static key and a certificate chain for it, signed by a local root. */
export function makeServerIdentity(): { serverStatic: KeyPair; certificate: Buffer; rootPublic: Buffer } {
  const root = newKeyPair();
  const intermediate = newKeyPair();
  const serverStatic = newKeyPair();
  const now = Math.floor(Date.now() / 1000);
  const intermediateDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 1,
    issuerSerial: 0,
    key: intermediate.public,
    notBefore: now - 3600,
    notAfter: now + 365 * 86400,
  }).finish();
  const leafDetails = proto.CertChain.NoiseCertificate.Details.encode({
    serial: 2,
    issuerSerial: 1,
    key: serverStatic.public,
    notBefore: now - 3600,
    notAfter: now + 365 * 86400,
  }).finish();
  const certificate = Buffer.from(
    proto.CertChain.encode({
      intermediate: { details: intermediateDetails, signature: Buffer.from(Curve.sign(root.private, intermediateDetails)) },
      leaf: { details: leafDetails, signature: Buffer.from(Curve.sign(intermediate.private, leafDetails)) },
    }).finish(),
  );
  return { serverStatic, certificate, rootPublic: root.public };
}

/**
 * What the phone hands a device it pairs: the device's identity signed by
 * the account key, in an HMAC container keyed by the device's ADV secret.
 */
export function signedDeviceIdentity(accountKey: KeyPair, deviceId: number, identityKey: Buffer, advSecret: Buffer): Buffer {
  const details = Buffer.from(
    proto.ADVDeviceIdentity.encode({ rawId: randomInt(1, 2 ** 31), timestamp: Math.floor(Date.now() / 1000), keyIndex: deviceId }).finish(),
  );
  const accountSignature = Buffer.from(Curve.sign(accountKey.private, Buffer.concat([Buffer.from([6, 0]), details, identityKey])));
  const signed = Buffer.from(
    proto.ADVSignedDeviceIdentity.encode({ details, accountSignatureKey: accountKey.public, accountSignature }).finish(),
  );
  const hmac = createHmac('sha256', advSecret).update(signed).digest();
  return Buffer.from(proto.ADVSignedDeviceIdentityHMAC.encode({ details: signed, hmac }).finish());
}
