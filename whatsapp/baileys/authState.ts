import { setTimeout as sleep } from 'node:timers/promises';
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
export async function loadAuthState(
  store: AuthStore,
  onCredsFailure?: (err: unknown) => void,
): Promise<{
  creds: AuthenticationCreds;
  keys: SessionKeys;
  saved: SessionCreds;
}> {
  const stored = await store.readCreds();
  const creds: AuthenticationCreds = stored ? JSON.parse(stored, BufferJSON.reviver) : initAuthCreds();
  return {
    creds,
    keys: new SessionKeys(store),
    saved: new SessionCreds(() => store.writeCreds(JSON.stringify(creds, BufferJSON.replacer)), onCredsFailure),
  };
}

/**
 * Writes of a session's credentials, one at a time and in order, so an older
 * state can never land after a newer one; changes made during a write go out
 * together in the next. Failed writes are retried until the session ends.
 * `finish()` is the barrier a session's end waits for: whoever connects next
 * (this worker after a 515 restart, or another one) reads what it stored.
 */
export class SessionCreds {
  private dirty = false;
  private stopped = false;
  private writing: Promise<void> | undefined;

  constructor(
    private readonly write: () => Promise<void>,
    private readonly onFailure?: (err: unknown) => void,
  ) {}

  /** Stores the current credentials (in the background; the promise settles when stored). */
  save(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.dirty = true;
    return (this.writing ??= this.writeLoop());
  }

  /** Waits (at most `timeoutMs`) for what was saved so far to be stored; later saves are ignored. */
  async finish(timeoutMs: number): Promise<void> {
    try {
      if (this.writing) await withDeadline(this.writing, timeoutMs, 'the session credentials were not stored');
    } finally {
      this.stopped = true;
    }
  }

  private async writeLoop(): Promise<void> {
    let retryMs = RETRY_FIRST_MS;
    let failure: unknown;
    try {
      while (this.dirty) {
        this.dirty = false;
        try {
          await this.write();
          failure = undefined;
          retryMs = RETRY_FIRST_MS;
        } catch (err) {
          failure = err;
          this.onFailure?.(err);
          // No later attempt could land (another worker holds the session): stop.
          if (isPermanent(err)) this.stopped = true;
          if (this.stopped) break;
          this.dirty = true;
          await sleep(retryMs);
          retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
          if (this.stopped) break;
        }
      }
      if (failure) throw failure;
    } finally {
      this.writing = undefined;
    }
  }
}

type Value = SignalDataTypeMap[keyof SignalDataTypeMap];

const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 10_000;

/**
 * A session's Signal keys, read through a cache and written behind.
 *
 * Only the process holding a session's lease uses its keys, so what it has
 * read or written stays true: reads of known keys (and of keys known to be
 * absent, which Baileys asks for on every send) cost no query. Writes update
 * the cache at once and reach the store in the background, all changes made
 * meanwhile in one write, so a send never waits on the database inside
 * Baileys' per-account lock. `persisted()` is the barrier: the outbox records
 * a message as sent only after the keys that encrypted it are stored, and a
 * session ends only after its keys are (see driver.ts).
 */
export class SessionKeys implements SignalKeyStore {
  /** Parsed values (null: known absent), least recently used first. */
  private readonly cache = new Map<string, Value | null>();
  /** Changes not yet written, by cache key. */
  private pending = new Map<string, { type: string; id: string; value: Value | null }>();
  /** The changes being written now. */
  private inFlight = new Map<string, { type: string; id: string; value: Value | null }>();
  /** Keys set while a read was in flight: kept in the cache so the read cannot overwrite them with older values. */
  private readonly setDuringRead = new Set<string>();
  private readsInFlight = 0;
  private version = 0;
  private written = 0;
  private writing: Promise<void> | undefined;
  private failure: unknown;
  private waiters: Array<() => void> = [];
  private stopped = false;

  constructor(
    private readonly store: AuthStore,
    private readonly maxCached = 2_000,
  ) {}

  async get<T extends keyof SignalDataTypeMap>(type: T, ids: string[]): Promise<{ [id: string]: SignalDataTypeMap[T] }> {
    const result: { [id: string]: SignalDataTypeMap[T] } = {};
    const misses: string[] = [];
    for (const id of ids) {
      const key = cacheKey(type, id);
      if (!this.cache.has(key)) {
        misses.push(id);
        continue;
      }
      const value = this.touch(key);
      if (value !== null) result[id] = value as SignalDataTypeMap[T];
    }
    if (misses.length === 0) return result;
    this.readsInFlight++;
    let stored: Record<string, string>;
    try {
      stored = await this.store.readKeys(type, misses);
    } finally {
      this.readsInFlight--;
    }
    for (const id of misses) {
      const key = cacheKey(type, id);
      // Set (or read by a concurrent get) meanwhile: the cache is as new as the store, or newer.
      const value = this.cache.has(key) ? this.touch(key) : this.remember(key, stored[id] === undefined ? null : decode(type, stored[id]!));
      if (value !== null) result[id] = value as SignalDataTypeMap[T];
    }
    if (this.readsInFlight === 0) this.setDuringRead.clear();
    return result;
  }

  async set(data: { [T in keyof SignalDataTypeMap]?: { [id: string]: SignalDataTypeMap[T] | null } }): Promise<void> {
    if (this.stopped) return;
    for (const [type, entries] of Object.entries(data)) {
      for (const [id, value] of Object.entries(entries ?? {})) {
        const key = cacheKey(type, id);
        this.pending.set(key, { type, id, value: (value ?? null) as Value | null });
        this.remember(key, (value ?? null) as Value | null);
        if (this.readsInFlight > 0) this.setDuringRead.add(key);
      }
    }
    this.version++;
    this.writing ??= this.writeLoop();
  }

  /** Resolves once every change set so far is stored; rejects if the latest write attempt failed (writes keep being retried). */
  async persisted(): Promise<void> {
    const target = this.version;
    while (this.written < target) {
      // Unwritten changes and no write under way: they were discarded, or given up on at the session's end.
      if (!this.writing) throw this.failure ?? new Error('the session keys were discarded');
      await new Promise<void>((resolve) => this.waiters.push(resolve));
      if (this.written < target && this.failure) throw this.failure;
    }
  }

  /** Stores what is pending (waiting at most `timeoutMs`), then stops: the session ended. */
  async finish(timeoutMs: number): Promise<void> {
    try {
      await withDeadline(this.persisted(), timeoutMs, 'the session keys were not stored');
    } finally {
      this.stopped = true;
    }
  }

  /** Forgets unwritten changes (the account logged out; its stored keys are about to be cleared) and waits for a write under way. */
  async discard(): Promise<void> {
    this.stopped = true;
    this.pending.clear();
    await this.writing;
  }

  private async writeLoop(): Promise<void> {
    let retryMs = RETRY_FIRST_MS;
    try {
      while (this.pending.size > 0) {
        const batch = this.pending;
        const upTo = this.version;
        this.pending = new Map();
        this.inFlight = batch;
        try {
          await this.store.writeKeys(
            [...batch.values()].map(({ type, id, value }) => ({
              type,
              id,
              value: value === null ? null : JSON.stringify(value, BufferJSON.replacer),
            })),
          );
          this.written = upTo;
          this.failure = undefined;
          retryMs = RETRY_FIRST_MS;
        } catch (err) {
          this.failure = err;
          // No write of this session's keys can land any more: keep nothing for later.
          if (isPermanent(err)) this.stopped = true;
          // Changes made since supersede the failed ones.
          for (const [key, change] of batch) if (!this.pending.has(key) && !this.stopped) this.pending.set(key, change);
        }
        this.inFlight = new Map();
        this.wake();
        if (this.failure && this.pending.size > 0 && !this.stopped) {
          await sleep(retryMs);
          retryMs = Math.min(RETRY_MAX_MS, retryMs * 2);
        }
        if (this.stopped && this.failure) break;
      }
    } finally {
      this.writing = undefined;
      this.wake();
    }
  }

  private wake() {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  private touch(key: string): Value | null {
    const value = this.cache.get(key)!;
    this.cache.delete(key);
    this.cache.set(key, value);
    return value;
  }

  private remember(key: string, value: Value | null): Value | null {
    this.cache.delete(key);
    this.cache.set(key, value);
    if (this.cache.size > this.maxCached) {
      for (const old of this.cache.keys()) {
        if (this.cache.size <= this.maxCached) break;
        // Unwritten values exist only here: they stay until stored.
        if (!this.pending.has(old) && !this.inFlight.has(old) && !this.setDuringRead.has(old)) this.cache.delete(old);
      }
    }
    return value;
  }
}

/** A store's error that no retry can get past (AuthStore). */
const isPermanent = (err: unknown) => (err as { permanent?: unknown } | undefined)?.permanent === true;

function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

const cacheKey = (type: string, id: string) => `${type}\n${id}`;

function decode(type: string, text: string): Value | null {
  const value = JSON.parse(text, BufferJSON.reviver);
  if (type === 'app-state-sync-key' && value) return proto.Message.AppStateSyncKeyData.fromObject(value) as unknown as Value;
  return value;
}
