import {
  BufferJSON,
  initAuthCreds,
  proto,
  type AuthenticationCreds,
  type SignalDataTypeMap,
  type SignalKeyStore,
} from '@whiskeysockets/baileys';
import type { AuthStore } from '../session.js';

/** Baileys' auth state (creds and Signal keys) on top of a generic AuthStore. */
export async function loadAuthState(store: AuthStore): Promise<{
  creds: AuthenticationCreds;
  keys: SignalKeyStore;
  saveCreds: () => Promise<void>;
}> {
  const saved = await store.readCreds();
  const creds: AuthenticationCreds = saved ? JSON.parse(saved, BufferJSON.reviver) : initAuthCreds();

  // Keys known not to exist (Baileys asks for absent ones, a contact's tctoken say, on every send).
  // Only this process writes the session's keys while it holds it, so the set stays true.
  const missing = new Set<string>();
  const keys: SignalKeyStore = {
    async get(type, ids) {
      const wanted = ids.filter((id) => !missing.has(`${type}:${id}`));
      const stored = wanted.length ? await store.readKeys(type, wanted) : {};
      for (const id of wanted) if (!(id in stored)) missing.add(`${type}:${id}`);
      if (missing.size > 50_000) missing.clear();
      const result: { [id: string]: SignalDataTypeMap[typeof type] } = {};
      for (const [id, text] of Object.entries(stored)) {
        let value = JSON.parse(text, BufferJSON.reviver);
        if (type === 'app-state-sync-key' && value) value = proto.Message.AppStateSyncKeyData.fromObject(value);
        result[id] = value;
      }
      return result;
    },
    async set(data) {
      const changes: Array<{ type: string; id: string; value: string | null }> = [];
      for (const [type, entries] of Object.entries(data)) {
        for (const [id, value] of Object.entries(entries ?? {})) {
          changes.push({ type, id, value: value ? JSON.stringify(value, BufferJSON.replacer) : null });
          if (value) missing.delete(`${type}:${id}`);
          else missing.add(`${type}:${id}`);
        }
      }
      await store.writeKeys(changes);
    },
  };

  return { creds, keys, saveCreds: () => store.writeCreds(JSON.stringify(creds, BufferJSON.replacer)) };
}
