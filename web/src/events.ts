/**
 * The gateway's event stream as the dashboard uses it: one EventSource for
 * the whole page, shared by every part of it that listens, opened with the
 * signed-in token (EventSource sends no headers). It reconnects by itself and
 * resumes where it left off (Last-Event-ID).
 *
 * The admin token reads every instance's events at `/events`; an instance
 * token is refused there, and the page reads its instance's stream instead.
 * Browsers open few connections to one server at a time: a stream per part of
 * the page would starve its requests.
 */
import { EVENT_NAMES } from '../../domain/events.js';
import { token } from './api.js';

export interface StreamEvent {
  event: string;
  instance_id: string;
  data: Record<string, unknown>;
}

type Listener = (event: StreamEvent) => void;
/** Whether events flow (false: the stream was refused; the page polls instead). */
type StateListener = (live: boolean) => void;

interface Subscription {
  /** Its instance's events only; null: every instance's. */
  instance: string | null;
  listener: Listener;
  state: StateListener;
}

interface Stream {
  source: EventSource;
  live: boolean;
}

const subscriptions = new Set<Subscription>();
/** By path: `/events`, or `/instance/{id}/events` once `/events` was refused. */
const streams = new Map<string, Stream>();
let everyInstance = true;

const pathOf = (s: Subscription) => (everyInstance ? '/events' : s.instance ? `/instance/${s.instance}/events` : null);

function open(path: string): Stream {
  const source = new EventSource(`./api${path}?token=${encodeURIComponent(token.value ?? '')}`);
  const stream: Stream = { source, live: false };
  let opened = false;
  const setLive = (live: boolean) => {
    if (stream.live === live) return;
    stream.live = live;
    for (const s of subscriptions) if (pathOf(s) === path) s.state(live);
  };
  source.onopen = () => {
    opened = true;
    setLive(true);
  };
  source.onerror = () => {
    // CONNECTING: it retries by itself. CLOSED: refused (a 403, a 401...).
    if (source.readyState !== EventSource.CLOSED) return;
    setLive(false);
    if (path === '/events' && !opened && everyInstance) {
      everyInstance = false;
      streams.delete(path);
      for (const s of subscriptions) connect(s);
    }
  };
  // The stream sends each event under its own name.
  for (const name of EVENT_NAMES)
    source.addEventListener(name, (e) => {
      const event = JSON.parse((e as MessageEvent<string>).data) as StreamEvent;
      for (const s of subscriptions) if (pathOf(s) === path && (s.instance === null || s.instance === event.instance_id)) s.listener(event);
    });
  return stream;
}

function connect(s: Subscription): void {
  const path = pathOf(s);
  if (!path) return s.state(false);
  let stream = streams.get(path);
  if (!stream) streams.set(path, (stream = open(path)));
  if (stream.live) s.state(true);
}

/** Listens to the events of `instance` (null: every instance); returns the unsubscribe function. */
export function listen(instance: string | null, listener: Listener, state: StateListener): () => void {
  const s: Subscription = { instance, listener, state };
  subscriptions.add(s);
  connect(s);
  return () => {
    subscriptions.delete(s);
    // Kept a moment: the next page usually listens to the same stream.
    setTimeout(closeUnused, LINGER_MS);
  };
}

const LINGER_MS = 10_000;

function closeUnused(): void {
  for (const [path, stream] of streams)
    if (![...subscriptions].some((other) => pathOf(other) === path)) {
      stream.source.close();
      streams.delete(path);
    }
}

// Signing in with another token (or out): the streams start again with it.
let signedInWith = token.value;
token.subscribe((value) => {
  if (value === signedInWith) return;
  signedInWith = value;
  for (const stream of streams.values()) stream.source.close();
  streams.clear();
  everyInstance = true;
  if (value) for (const s of subscriptions) connect(s);
});
