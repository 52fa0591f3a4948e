/**
 * One AsyncLocalStorage for the whole process, however many are made.
 *
 * Node 20 gives every promise one property per enabled AsyncLocalStorage,
 * set by a promise hook, and an instance stays enabled until someone calls
 * `disable()`. Baileys makes one per socket (for its key-store transactions)
 * and never disables it. A worker holding 100 sessions, or one whose
 * sessions have reconnected a hundred times, would pay that on every await
 * in the process: measured at 0.2 µs an await with 1 instance, 1.2 µs with
 * 10 and 14 µs with 100 (and 1.9 → 3.3 ms of CPU per sent message with 40
 * sockets in one process).
 *
 * `installSharedAsyncLocalStorage()` swaps `AsyncLocalStorage` in
 * `node:async_hooks` (for `require` and, through `syncBuiltinESMExports`, for
 * ES module imports) for a class with the same API whose instances are keys
 * into one real instance's store: each context holds an immutable map from
 * instance to value, copied when an instance's `run` or `enterWith` changes
 * it. Values are as isolated as with separate instances; one promise hook
 * property covers them all. Install it before anything that makes one at
 * load time (Temporal's activity context does) and before any socket
 * (worker/asyncContext.ts). One difference: after `disable()`, Node's own
 * stops propagating to new contexts, so a later `run` elsewhere does not
 * bring its value back to them; here it does.
 */
import asyncHooks from 'node:async_hooks';
import { syncBuiltinESMExports } from 'node:module';

type Frame = ReadonlyMap<object, unknown>;

const Native = asyncHooks.AsyncLocalStorage;

/** The one real instance (enabled by its first `run` or `enterWith`, as any). */
const frames = new Native<Frame>();

/** A frame like `frame` with `key` set to `value` (`remove`: without `key`). */
function withValue(frame: Frame | undefined, key: object, value: unknown, remove = false): Frame {
  const next = new Map(frame);
  if (remove) next.delete(key);
  else next.set(key, value);
  return next;
}

export class SharedAsyncLocalStorage<T> extends Native<T> {
  /** This instance's key in each context's frame. */
  private readonly key = {};
  /** After `disable()`, until the next `run` or `enterWith`: every context reads undefined, as with Node's own. */
  private disabled = false;

  override getStore(): T | undefined {
    if (this.disabled) return undefined;
    return frames.getStore()?.get(this.key) as T | undefined;
  }

  override run<R>(store: T, callback: () => R): R;
  override run<R, A extends unknown[]>(store: T, callback: (...args: A) => R, ...args: A): R;
  override run<R, A extends unknown[]>(store: T, callback: (...args: A) => R, ...args: A): R {
    this.disabled = false;
    const frame = frames.getStore();
    if (frame?.has(this.key) && frame.get(this.key) === store) return callback(...args);
    return frames.run(withValue(frame, this.key, store), callback, ...args);
  }

  override exit<R>(callback: () => R): R;
  override exit<R, A extends unknown[]>(callback: (...args: A) => R, ...args: A): R;
  override exit<R, A extends unknown[]>(callback: (...args: A) => R, ...args: A): R {
    const frame = frames.getStore();
    if (!frame?.has(this.key)) return callback(...args);
    return frames.run(withValue(frame, this.key, undefined, true), callback, ...args);
  }

  override enterWith(store: T): void {
    this.disabled = false;
    frames.enterWith(withValue(frames.getStore(), this.key, store));
  }

  override disable(): void {
    this.disabled = true;
  }
}

/** Makes every AsyncLocalStorage created from now on share one real instance (idempotent). */
export function installSharedAsyncLocalStorage(): void {
  if (asyncHooks.AsyncLocalStorage === (SharedAsyncLocalStorage as unknown)) return;
  (asyncHooks as { AsyncLocalStorage: unknown }).AsyncLocalStorage = SharedAsyncLocalStorage;
  syncBuiltinESMExports();
}
