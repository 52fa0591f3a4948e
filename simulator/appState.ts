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
import { decodeSyncdPatch, newLTHashState } from '@whiskeysockets/baileys/lib/Utils/chat-utils.js';
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
}

export class AppStateServer {
  private readonly accounts = new Map<string, Account>();

  private account(user: SimUser): Account {
    let account = this.accounts.get(user.phone);
    if (!account) {
      account = { key: { keyId: randomBytes(6), keyData: randomBytes(32) }, versions: new Map(), mutations: [] };
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
          keys: [{ keyId: { keyId: key.keyId }, keyData: { keyData: key.keyData, fingerprint: { rawId: 1, currentIndex: 0, deviceIndexes: [0] }, timestamp: Date.now() } }],
        },
      },
    };
  }

  mutations(user: SimUser): AppStateMutation[] {
    return this.account(user).mutations;
  }

  /** Answers `w:sync:app:state`: records pushed patches, reports every collection at its current version. */
  async answer(user: SimUser | undefined, iq: BinaryNode): Promise<BinaryNode> {
    const account = user ? this.account(user) : undefined;
    const collections: BinaryNode[] = [];
    for (const collection of children(child(iq, 'sync'))) {
      const name = collection.attrs.name!;
      for (const patchNode of children(collection).filter((c) => c.tag === 'patch')) {
        if (!account) continue;
        const patch = proto.SyncdPatch.decode(bytes(patchNode)!);
        account.versions.set(name, Number(patch.version?.version ?? Number(collection.attrs.version ?? 0) + 1));
        await this.record(account, name, patch);
      }
      const version = account?.versions.get(name) ?? Number(collection.attrs.version ?? 0);
      collections.push({ tag: 'collection', attrs: { name, version: String(version) } });
    }
    return iqResult(iq, [{ tag: 'sync', attrs: {}, content: collections }]);
  }

  private async record(account: Account, collection: string, patch: proto.ISyncdPatch): Promise<void> {
    const getKey = async (id: string) =>
      id === account.key.keyId.toString('base64') ? proto.Message.AppStateSyncKeyData.fromObject({ keyData: account.key.keyData }) : undefined;
    await decodeSyncdPatch(
      patch as proto.SyncdPatch,
      collection as never,
      newLTHashState(),
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
  }
}
