/**
 * Clients of the gateway's event streams for tests: an SSE reader over
 * fetch that parses messages as EventSource does (keeping the `id:`-only
 * ones and comments a browser hides), and a WebSocket reader.
 */
import WebSocket from 'ws';

export interface SseMessage {
  id?: string;
  event?: string;
  data?: string;
  comment?: string;
}

export interface Envelope {
  event: string;
  data: Record<string, any>;
  timestamp: number;
  instance_id: string;
  id: string;
  seq: number;
  cursor?: string;
}

interface Waiter<T> {
  check: (all: T[]) => boolean;
  resolve: () => void;
}

/** What a stream received so far, and a way to wait for more. */
class Received<T> {
  readonly all: T[] = [];
  ended = false;
  private waiters: Array<Waiter<T>> = [];

  push(item: T): void {
    this.all.push(item);
    this.wake();
  }

  end(): void {
    this.ended = true;
    this.wake();
  }

  private wake(): void {
    for (const w of [...this.waiters])
      if (w.check(this.all) || this.ended) {
        this.waiters.splice(this.waiters.indexOf(w), 1);
        w.resolve();
      }
  }

  /** Waits until `check(all)` holds; fails after `timeoutMs` or when the stream ended first. */
  async until(check: (all: T[]) => boolean, timeoutMs = 20_000, what = 'messages'): Promise<T[]> {
    if (!check(this.all)) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([
        new Promise<void>((resolve) => this.waiters.push({ check, resolve })),
        new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
      ]);
      clearTimeout(timer);
      if (!check(this.all)) throw new Error(`timed out or ended waiting for ${what}; got ${JSON.stringify(this.all).slice(0, 2_000)}`);
    }
    return this.all;
  }
}

export interface SseClient {
  status: number;
  /** The answer's body when it was not a stream (an error). */
  error?: Record<string, any>;
  messages: Received<SseMessage>;
  /** The events (messages with data), parsed. */
  events(): Envelope[];
  /** The id of the last message that had one (what EventSource would send as Last-Event-ID). */
  lastId(): string | undefined;
  close(): void;
}

export async function openSse(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
  const controller = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: controller.signal });
  const messages = new Received<SseMessage>();
  const client: SseClient = {
    status: res.status,
    messages,
    events: () => messages.all.filter((m) => m.data !== undefined).map((m) => JSON.parse(m.data!) as Envelope),
    lastId: () => messages.all.filter((m) => m.id !== undefined).at(-1)?.id,
    close: () => controller.abort(),
  };
  if (!res.ok) {
    client.error = (await res.json()) as Record<string, any>;
    return client;
  }
  void (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const message: SseMessage = {};
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) message.comment = line.slice(1).trim();
            else {
              const colon = line.indexOf(':');
              const field = line.slice(0, colon);
              const value = line.slice(colon + 1).replace(/^ /, '');
              if (field === 'id' || field === 'event' || field === 'data') message[field] = value;
            }
          }
          messages.push(message);
        }
      }
    } catch {
      // Aborted by close().
    } finally {
      messages.end();
    }
  })();
  return client;
}

export interface WsClient {
  socket: WebSocket;
  frames: Received<Envelope>;
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** Opens a WebSocket; rejects with the HTTP status and body when the upgrade is refused. */
export function openWs(url: string, headers: Record<string, string> = {}): Promise<WsClient> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { headers });
    const frames = new Received<Envelope>();
    const closed = new Promise<{ code: number; reason: string }>((done) =>
      socket.on('close', (code, reason) => {
        frames.end();
        done({ code, reason: reason.toString() });
      }),
    );
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as Envelope));
    socket.on('open', () => resolve({ socket, frames, closed, close: () => socket.close() }));
    socket.on('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () =>
        reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode, body: JSON.parse(body || '{}') })),
      );
    });
    socket.on('error', (err) => reject(err));
  });
}
