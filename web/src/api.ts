/**
 * The dashboard talks to the gateway through its public REST API only, with
 * the token the user signed in with (kept in this tab's session storage).
 */
import { signal } from '@preact/signals';
import { t } from './i18n.js';

export const token = signal<string | null>(sessionStorage.getItem('token'));

export function signIn(value: string) {
  sessionStorage.setItem('token', value);
  token.value = value;
}

/** Why the user was signed out, shown on the sign-in page. */
export const signInNotice = signal<string | null>(null);

export function signOut(notice: string | null = null) {
  sessionStorage.removeItem('token');
  token.value = null;
  signInNotice.value = notice;
}

/** An answer that is not a success, in plain words for the page, with the API's own message beside. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
    readonly code?: string,
  ) {
    super(detail);
  }

  /** What the page shows: what happened in the user's language, then the gateway's words. */
  get plain(): string {
    const general =
      this.status === 0
        ? t('error.network')
        : this.status === 401
          ? t('error.unauthorized')
          : this.status === 403
            ? t('error.forbidden')
            : this.status === 429
              ? t('error.rateLimited')
              : this.status === 503
                ? t('error.unavailable')
                : this.status >= 500
                  ? t('error.server')
                  : undefined;
    return general ? (this.status === 0 || this.status >= 500 ? general : `${general} (${this.detail})`) : this.detail;
  }
}

export async function api<T = unknown>(method: string, path: string, body?: unknown, as = token.value): Promise<T> {
  let res: Response;
  try {
    res = await fetch(`./api${path}`, {
      method,
      headers: { authorization: `Bearer ${as ?? ''}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch {
    throw new ApiError(0, 'no answer');
  }
  const text = await res.text();
  let data: unknown;
  try {
    data = text ? JSON.parse(text) : undefined;
  } catch {
    data = undefined;
  }
  // The signed-in token stopped working (revoked): back to signing in, saying why.
  if (res.status === 401 && as !== null && as === token.value) signOut(t('error.unauthorized'));
  if (!res.ok) {
    const error = data as { error?: string; code?: string } | undefined;
    throw new ApiError(res.status, error?.error ?? `HTTP ${res.status}`, error?.code);
  }
  return data as T;
}

export const errorText = (err: unknown) => (err instanceof ApiError ? err.plain : t('error.server'));

export type Status = 'open' | 'connecting' | 'disconnected';
export interface InstanceList {
  instances: string[];
  statuses: Record<string, { accountStatus: { status: Status } }>;
}
/** What `GET .../status` adds beyond the status: why connecting failed, and WhatsApp's limits on the account. */
export interface StatusDetails {
  accountStatus: { status: Status; lastError?: string };
  restrictions?: Record<'messageCapping' | 'reachoutTimelock', { active: boolean; until: string | null } | null>;
}
export interface Account {
  id: string;
  name: string | null;
  phone: string;
}
