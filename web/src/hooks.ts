/** Small hooks the pages share: live data, polling, the gateway's info, and an action's busy/error state. */
import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from './api.js';
import { listen, type StreamEvent } from './events.js';

/** Calls `load` now and every `ms` while the page shows, and again when `deps` change. */
export function usePolling(load: () => Promise<void>, ms: number, deps: unknown[]) {
  useEffect(() => {
    let stopped = false;
    let timer: ReturnType<typeof setTimeout>;
    const tick = async () => {
      await load().catch(() => {});
      if (!stopped) timer = setTimeout(tick, ms);
    };
    void tick();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }, deps);
}

export interface LiveOptions {
  /** Whose events: an instance's, or null for every instance's. */
  instance: string | null;
  /** The events that change what `load` shows; every event when left out. */
  types?: string[];
  /** Of those, the ones that concern it (a chat's messages...). */
  concerns?: (event: StreamEvent) => boolean;
  /** How often to load while the stream cannot be read (a token without access): as the page polled before. */
  pollMs: number;
  /** How often to load while the stream is open, for what no event announces (a minute unless told). */
  refreshMs?: number;
}

/** Loaded again this long after an event at most once: a burst of events is one reload. */
const SETTLE_MS = 250;
/** Loaded again this often even while the stream is open, for what no event announces. */
const REFRESH_MS = 60_000;

/**
 * Calls `load` now, then again when the stream brings an event that concerns it (and once a minute);
 * while the stream cannot be opened, every `pollMs` instead.
 */
export function useLive(load: () => Promise<void>, options: LiveOptions, deps: unknown[]) {
  useEffect(() => {
    let stopped = false;
    let live = false;
    let started = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let settling: ReturnType<typeof setTimeout> | undefined;
    const run = async () => {
      clearTimeout(timer);
      await load().catch(() => {});
      if (!stopped) timer = setTimeout(run, live ? (options.refreshMs ?? REFRESH_MS) : options.pollMs);
    };
    const unlisten = listen(
      options.instance,
      (event) => {
        if ((options.types && !options.types.includes(event.event)) || (options.concerns && !options.concerns(event))) return;
        settling ??= setTimeout(() => {
          settling = undefined;
          void run();
        }, SETTLE_MS);
      },
      (isLive) => {
        if (isLive === live) return;
        live = isLive;
        // Back to polling when the stream is refused; opened again: catch up on what happened meanwhile.
        if (started) void run();
      },
    );
    started = true;
    void run();
    return () => {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(settling);
      unlisten();
    };
  }, deps);
}

export interface Info {
  version: string;
  temporalUiUrl: string | null;
  temporalNamespace: string;
}

let info: Promise<Info | null> | undefined;
/** GET /api/info, asked once per page load. */
export function useInfo(): Info | null {
  const [value, setValue] = useState<Info | null>(null);
  useEffect(() => {
    info ??= api<Info>('GET', '/info').catch(() => null);
    void info.then(setValue);
  }, []);
  return value;
}

/** A workflow's page in the Temporal UI, when its address is known. */
export const workflowUrl = (info: Info | null, workflowId: string) =>
  info?.temporalUiUrl
    ? `${info.temporalUiUrl}/namespaces/${encodeURIComponent(info.temporalNamespace)}/workflows/${encodeURIComponent(workflowId)}`
    : null;

/** Runs an API action with its busy flag and its error in plain words. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const run = async (action: () => Promise<unknown>): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await action();
      return true;
    } catch (err) {
      setError(errorText(err));
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, run, setError };
}
