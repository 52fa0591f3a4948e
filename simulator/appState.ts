/**
 * App state ("syncd"): the encrypted, versioned collections where WhatsApp
 * keeps archive, pin, mute, delete-chat... The phone shares a sync key with a
 * new device; devices send patches. The simulator keeps each collection's
 * version and decodes patches with the key it shared, so a test can check
 * which action a device performed.
 */
import { randomBytes } from 'node:crypto';
import { proto, type BinaryNode } from '@whiskeysockets/baileys';
// Baileys' own syncd decoder; the package has no exports map, so the deep import works.
import { decodeSyncdPatch, encodeSyncdPatch, newLTHashState } from '@whiskeysockets/baileys/lib/Utils/chat-utils.js';
import { bytes, child, children, iqResult } from './nodes.js';
import type { SimUser } from './directory.js';

export interface AppStateMutation {
  collection: string;
  /** e.g. ["archive", "905…@s.whatsapp.net"] */
  index: string[];
  value: proto.ISyncActionValue | null | undefined;
  operation: 'set' | 'remove';
}

interface Account {
  key: { keyId: Buffer; keyData: Buffer };
  versions: Map<string, number>;
  mutations: AppStateMutation[];
  /** Patches the phone made, per collection, for devices to fetch: each at its version. */
  phonePatches: Map<string, { version: number; bytes: Buffer }[]>;
  /** The LTHash state of the phone's own patches, per collection. */
  states: Map<string, ReturnType<typeof newLTHashState>>;
}

/** An account's app state as the simulator keeps it across restarts (state.ts); what devices changed is not kept. */
export interface SavedAppState {
  phone: string;
  key: Account['key'];
  versions: [string, number][];
  phonePatches: [string, { version: number; bytes: Buffer }[]][];
  states: [string, ReturnType<typeof newLTHashState>][];
}

export class AppStateServer {
  private readonly accounts = new Map<string, Account>();

  save(): SavedAppState[] {
    return [...this.accounts].map(([phone, account]) => ({
      phone,
      key: account.key,
      versions: [...account.versions],
      phonePatches: [...account.phonePatches],
      states: [...account.states],
    }));
  }

  restore(saved: SavedAppState[]): void {
    for (const { phone, key, versions, phonePatches, states } of saved) {
      this.accounts.set(phone, {
        key,
        versions: new Map(versions),
        mutations: [],
        phonePatches: new Map(phonePatches),
        states: new Map(states),
      });
    }
  }

  private account(user: SimUser): Account {
    let account = this.accounts.get(user.phone);
    if (!account) {
      account = {
        key: { keyId: randomBytes(6), keyData: randomBytes(32) },
        versions: new Map(),
        mutations: [],
        phonePatches: new Map(),
        states: new Map(),
      };
      this.accounts.set(user.phone, account);
    }
    return account;
  }

  /** The protocol message with which the phone shares the account's app-state key with a device. */
  keyShare(user: SimUser): proto.IMessage {
    const { key } = this.account(user);
    return {
      protocolMessage: {
        type: proto.Message.ProtocolMessage.Type.APP_STATE_SYNC_KEY_SHARE,
        appStateSyncKeyShare: {
          keys: [
            {
              keyId: { keyId: key.keyId },
              keyData: { keyData: key.keyData, fingerprint: { rawId: 1, currentIndex: 0, deviceIndexes: [0] }, timestamp: Date.now() },
            },
          ],
        },
      },
    };
  }

  mutations(user: SimUser): AppStateMutation[] {
    return this.account(user).mutations;
  }

  /**
   * The phone changes the account's app state (e.g. saves a contact): the change becomes the collection's next
   * patch, encrypted with the shared key, which a device fetches after a `server_sync` notification (see
   * `serverSyncNotification`). Returns the collection's new version.
   */
  async phoneChange(
    user: SimUser,
    collection: string,
    index: string[],
    value: proto.ISyncActionValue,
    operation: 'set' | 'remove' = 'set',
  ): Promise<number> {
    const account = this.account(user);
    const keyId = account.key.keyId.toString('base64');
    const state = { ...(account.states.get(collection) ?? newLTHashState()), version: account.versions.get(collection) ?? 0 };
    const { patch, state: next } = await encodeSyncdPatch(
      {
        type: collection as never,
        index,
        syncAction: value,
        apiVersion: 2,
        operation: operation === 'set' ? proto.SyncdMutation.SyncdOperation.SET : proto.SyncdMutation.SyncdOperation.REMOVE,
      },
      keyId,
      state,
      (async (id: string) => (id === keyId ? { keyData: account.key.keyData } : undefined)) as never,
    );
    account.states.set(collection, next);
    account.versions.set(collection, next.version);
    const bytes = Buffer.from(proto.SyncdPatch.encode({ ...patch, version: { version: next.version } }).finish());
    const patches = account.phonePatches.get(collection) ?? [];
    patches.push({ version: next.version, bytes });
    account.phonePatches.set(collection, patches);
    account.mutations.push({ collection, index, value, operation });
    return next.version;
  }

  /** Tells a device that `collection` changed on the server; it then asks for the patches it lacks. */
  static serverSyncNotification(collection: string, version: number): BinaryNode {
    return {
      tag: 'notification',
      attrs: {
        from: 's.whatsapp.net',
        type: 'server_sync',
        id: randomBytes(8).toString('hex').toUpperCase(),
        t: String(Math.floor(Date.now() / 1000)),
      },
      content: [{ tag: 'collection', attrs: { name: collection, version: String(version) } }],
    };
  }

  /**
   * Answers `w:sync:app:state`: records pushed patches, hands out the phone's patches newer than the version the
   * device has, and reports every collection at its current version.
   */
  async answer(user: SimUser | undefined, iq: BinaryNode): Promise<BinaryNode> {
    const account = user ? this.account(user) : undefined;
    const collections: BinaryNode[] = [];
    for (const collection of children(child(iq, 'sync'))) {
      const name = collection.attrs.name!;
      for (const patchNode of children(collection).filter((c) => c.tag === 'patch')) {
        if (!account) continue;
        const patch = proto.SyncdPatch.decode(bytes(patchNode)!);
        const version = Number(patch.version?.version ?? Number(collection.attrs.version ?? 0) + 1);
        account.versions.set(name, version);
        await this.record(account, name, patch, version);
      }
      const version = account?.versions.get(name) ?? Number(collection.attrs.version ?? 0);
      const known = Number(collection.attrs.version ?? 0);
      const newer = (account?.phonePatches.get(name) ?? []).filter((p) => p.version > known);
      const patches: BinaryNode[] = newer.length
        ? [{ tag: 'patches', attrs: {}, content: newer.map((p) => ({ tag: 'patch', attrs: {}, content: p.bytes })) }]
        : [];
      collections.push({ tag: 'collection', attrs: { name, version: String(version) }, content: patches });
    }
    return iqResult(iq, [{ tag: 'sync', attrs: {}, content: collections }]);
  }

  /**
   * A device's patch: its mutations recorded, and folded into the collection's state, so that the phone's
   * later patches build on it (a device checks each patch's MACs against the state it holds).
   */
  private async record(account: Account, collection: string, patch: proto.ISyncdPatch, version: number): Promise<void> {
    const getKey = async (id: string) =>
      id === account.key.keyId.toString('base64')
        ? proto.Message.AppStateSyncKeyData.fromObject({ keyData: account.key.keyData })
        : undefined;
    const state = await decodeSyncdPatch(
      patch as proto.SyncdPatch,
      collection as never,
      account.states.get(collection) ?? newLTHashState(),
      getKey as never,
      (mutation: { syncAction: proto.ISyncActionData; index: string[] }) => {
        account.mutations.push({
          collection,
          index: mutation.index,
          value: mutation.syncAction.value,
          operation: mutation.syncAction.value ? 'set' : 'remove',
        });
      },
      false,
    );
    account.states.set(collection, { ...state, version } as ReturnType<typeof newLTHashState>);
  }
}
