/**
 * A lean JSON client for load generation: plain HTTP/1.1 over keep-alive TCP
 * sockets, one request in flight per socket, responses read by their
 * Content-Length. Even node:http's client costs the benchmark process about
 * 0.4 ms of CPU per request (fetch several times that), and on a small
 * machine that CPU is taken from the gateway being measured; a real client
 * runs elsewhere.
 */
import net from 'node:net';

interface Pending {
  resolve(response: { status: number; json: unknown }): void;
  reject(error: Error): void;
}

/** One keep-alive connection; `request` must not be called again before its answer. */
class Connection {
  private readonly socket: net.Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private pending: Pending | undefined;
  private closed = false;
  /** When the last answer came (or the connection opened). */
  lastUsed = Date.now();

  constructor(host: string, port: number) {
    this.socket = net.connect({ host, port, noDelay: true });
    this.socket.on('data', (chunk: Buffer) => {
      this.buffer = this.buffer.length ? Buffer.concat([this.buffer, chunk]) : chunk;
      this.parse();
    });
    const fail = (error: Error) => {
      this.closed = true;
      const pending = this.pending;
      this.pending = undefined;
      pending?.reject(error);
    };
    this.socket.on('error', fail);
    this.socket.on('close', () => fail(new Error('the connection closed')));
  }

  get idle(): boolean {
    return !this.pending && !this.closed;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  request(head: string, body: Buffer): Promise<{ status: number; json: unknown }> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('the connection closed'));
      this.pending = { resolve, reject };
      this.socket.write(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    });
  }

  private parse(): void {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || !this.pending) return;
    const head = this.buffer.toString('latin1', 0, end);
    const status = Number(head.slice(9, 12));
    const length = head.match(/\r\ncontent-length:\s*(\d+)/i);
    if (!length) {
      this.socket.destroy(new Error(`no Content-Length in the answer: ${head.split('\r\n')[0]}`));
      return;
    }
    const total = end + 4 + Number(length[1]);
    if (this.buffer.length < total) return;
    const body = this.buffer.toString('utf8', end + 4, total);
    this.buffer = this.buffer.subarray(total);
    const pending = this.pending;
    this.pending = undefined;
    this.lastUsed = Date.now();
    try {
      pending.resolve({ status, json: JSON.parse(body) });
    } catch (error) {
      pending.reject(error as Error);
    }
  }

  close(): void {
    this.closed = true;
    this.socket.destroy();
  }
}

/**
 * Node's HTTP server closes a keep-alive connection after 5 s without a
 * request; one reused just then fails with ECONNRESET. Connections idle this
 * long are closed here first.
 */
const MAX_IDLE_MS = 2_000;

/** As many connections as requests at once, kept open for the next ones. */
export function jsonClient(baseUrl: string, token: string) {
  const { hostname, port } = new URL(baseUrl);
  let pool: Connection[] = [];
  const connection = () => {
    const now = Date.now();
    for (const c of pool) if (c.idle && now - c.lastUsed > MAX_IDLE_MS) c.close();
    pool = pool.filter((c) => !c.isClosed);
    let free = pool.find((c) => c.idle);
    if (!free) {
      free = new Connection(hostname, Number(port));
      pool.push(free);
    }
    return free;
  };
  return {
    post(path: string, body: unknown): Promise<{ status: number; json: unknown }> {
      const payload = Buffer.from(JSON.stringify(body));
      const head =
        `POST ${path} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nAuthorization: Bearer ${token}\r\n` +
        `Content-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`;
      return connection().request(head, payload);
    },
    close: () => pool.forEach((c) => c.close()),
  };
}
