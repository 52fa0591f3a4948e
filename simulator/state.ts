/**
 * The simulated world a restart keeps, in a file (`stateFile`, see
 * simulator.ts): the users with their LIDs, account keys, address books and
 * linked devices, the phones' Signal keys and sessions, each account's app
 * state and block list, and the stanzas waiting for a device that was
 * offline, the groups (members, admins, settings, invite codes) and the
 * channels (followers, posts). So a device linked before (the demo's gateway)
 * logs in again with the credentials it kept, the phones still decrypt what
 * it sends, and its groups and channels are still there. Calls, restrictions,
 * faults and what the phones received start afresh.
 *
 * JSON, with bytes as `{ "$bytes": "<base64>" }`; written to a temporary file
 * and renamed, for this user only (it holds private keys).
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import type { BinaryNode } from '@whiskeysockets/baileys';
import type { SavedUser } from './directory.js';
import type { SavedSignalDevice } from './signal.js';
import type { SavedAppState } from './appState.js';
import type { SavedGroup } from './groups.js';
import type { SavedChannel } from './channels.js';

/** Bumped when the shape changes: a file of another version is not read (the world starts afresh, and says why). */
export const STATE_VERSION = 1;

export interface SavedSimulator {
  version: typeof STATE_VERSION;
  users: SavedUser[];
  /** Each phone's Signal device, by phone number. */
  phones: [string, SavedSignalDevice][];
  appState: SavedAppState[];
  /** Each account's blocked contacts (phone numbers), by owner. */
  blocked: [string, string[]][];
  /** Stanzas waiting for a linked device, by `phone:device`. */
  offline: [string, BinaryNode[]][];
  /** Absent from files written before groups and channels were kept. */
  groups?: SavedGroup[];
  revokedInvites?: string[];
  channels?: SavedChannel[];
}

/** How a state file was found: read, not there (a first start), or not readable (and why). */
export type StateLoad = { found: 'loaded'; state: SavedSimulator } | { found: 'missing' } | { found: 'unreadable'; error: string };

export function readStateFile(file: string): StateLoad {
  if (!existsSync(file)) return { found: 'missing' };
  try {
    const state = JSON.parse(readFileSync(file, 'utf8'), (_key, value: unknown) =>
      value && typeof value === 'object' && typeof (value as { $bytes?: unknown }).$bytes === 'string'
        ? Buffer.from((value as { $bytes: string }).$bytes, 'base64')
        : value,
    ) as SavedSimulator;
    if (state?.version !== STATE_VERSION) return { found: 'unreadable', error: `it is of version ${state?.version}, not ${STATE_VERSION}` };
    return { found: 'loaded', state };
  } catch (err) {
    return { found: 'unreadable', error: (err as Error).message };
  }
}

export function writeStateFile(file: string, state: SavedSimulator): void {
  const text = JSON.stringify(state, function (this: Record<string, unknown>, key, value: unknown) {
    // The value before toJSON: a Buffer's own would be an array of numbers.
    const raw = this[key];
    return raw instanceof Uint8Array ? { $bytes: Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength).toString('base64') } : value;
  });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, text, { mode: 0o600 });
  renameSync(temporary, file);
}
