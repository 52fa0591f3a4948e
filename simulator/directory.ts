/**
 * The simulated WhatsApp world: users (a phone number, a LID, a push name, an
 * account signing key) and the companion devices linked to them, such as the
 * gateway's instances.
 */
import { randomBytes, randomInt } from 'node:crypto';
import { newKeyPair, type KeyPair } from './keys.js';

export interface SignedPreKey {
  keyId: number;
  public: Buffer;
  signature: Buffer;
}

/** A linked device (a WhatsApp Web client such as the gateway). */
export interface Companion {
  user: SimUser;
  deviceId: number;
  /** Noise static key: the device proves it holds this at every login. */
  noiseKey: Buffer;
  identityKey: Buffer;
  registrationId: number;
  signedPreKey: SignedPreKey;
  /** One-time pre-keys the device uploaded; handed out to senders. */
  preKeys: Map<number, Buffer>;
  advSecret: Buffer;
  platform: string;
  /** Removed from the phone's "Linked devices": logins fail with 401. */
  removed: boolean;
  /** The phone has sent this device its initial history. */
  historySent?: boolean;
}

export interface SimUser {
  phone: string;
  lid: string;
  name: string;
  /** Signs the identity of each device linked to this account. */
  accountKey: KeyPair;
  companions: Map<number, Companion>;
  nextDeviceId: number;
  /** Profile picture URL, when the user has one. */
  pictureUrl?: string;
  /** The phone's address book: contacts' phone numbers and the names saved for them. */
  addressBook: Map<string, string>;
  /** Who may add this user to groups (privacy setting "Groups"); others get 403 and must send an invite. Default: everyone. */
  groupAddPrivacy?: 'all' | 'contacts' | 'none';
}

/** A companion as the simulator keeps it across restarts (state.ts). */
export type SavedCompanion = Omit<Companion, 'user' | 'preKeys'> & { preKeys: [number, Buffer][] };
/** A user as the simulator keeps it across restarts, with its linked devices. */
export type SavedUser = Omit<SimUser, 'companions' | 'addressBook'> & { companions: SavedCompanion[]; addressBook: [string, string][] };

export const pnJid = (phone: string, device?: number) => (device ? `${phone}:${device}@s.whatsapp.net` : `${phone}@s.whatsapp.net`);
export const lidJid = (lid: string, device?: number) => (device ? `${lid}:${device}@lid` : `${lid}@lid`);

export class Directory {
  private readonly byPhone = new Map<string, SimUser>();
  private readonly byLid = new Map<string, SimUser>();

  addUser({ phone, name, lid }: { phone: string; name?: string; lid?: string }): SimUser {
    const existing = this.byPhone.get(phone);
    if (existing) return existing;
    const user: SimUser = {
      phone,
      lid: lid ?? String(randomInt(100_000_000, 999_999_999)) + String(randomInt(100_000, 999_999)),
      name: name ?? `User ${phone.slice(-4)}`,
      accountKey: newKeyPair(),
      companions: new Map(),
      addressBook: new Map(),
      nextDeviceId: 2 + randomInt(0, 20),
    };
    this.byPhone.set(phone, user);
    this.byLid.set(user.lid, user);
    return user;
  }

  /** By phone number or LID user part. */
  find(user: string): SimUser | undefined {
    return this.byPhone.get(user) ?? this.byLid.get(user);
  }

  users(): SimUser[] {
    return [...this.byPhone.values()];
  }

  save(): SavedUser[] {
    return this.users().map(({ companions, addressBook, ...user }) => ({
      ...user,
      addressBook: [...addressBook],
      companions: [...companions.values()].map(({ user: _, preKeys, ...companion }) => ({ ...companion, preKeys: [...preKeys] })),
    }));
  }

  /** Adds the users `save` returned, with their linked devices (before any other user is added). */
  restore(saved: SavedUser[]): void {
    for (const { companions, addressBook, ...fields } of saved) {
      const user: SimUser = { ...fields, companions: new Map(), addressBook: new Map(addressBook) };
      for (const { preKeys, ...companion } of companions)
        user.companions.set(companion.deviceId, { ...companion, user, preKeys: new Map(preKeys) });
      this.byPhone.set(user.phone, user);
      this.byLid.set(user.lid, user);
    }
  }

  linkCompanion(user: SimUser, device: Omit<Companion, 'user' | 'deviceId' | 'removed' | 'preKeys'>): Companion {
    const companion: Companion = { ...device, user, deviceId: user.nextDeviceId++, removed: false, preKeys: new Map() };
    user.companions.set(companion.deviceId, companion);
    return companion;
  }
}

export const newRef = () => randomBytes(12).toString('base64url');
