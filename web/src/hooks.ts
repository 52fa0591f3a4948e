/** Small hooks the pages share: polling, the gateway's info, and an action's busy/error state. */
import { useEffect, useState } from 'preact/hooks';
import { api, errorText } from './api.js';

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
