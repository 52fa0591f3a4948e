/**
 * Tiny proxies for tests, on 127.0.0.1: an HTTP CONNECT proxy and a SOCKS5
 * proxy, each optionally requiring credentials, that count the tunnels they
 * open (by target host:port) and the bytes passing through them.
 */
import { createServer, connect, type Server, type Socket, type AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';

export interface TestProxy {
  url: string;
  port: number;
  /** Tunnels opened, by target `host:port`. */
  tunnels: Map<string, number>;
  /** Attempts refused (wrong or missing credentials). */
  refused: number;
  bytes: { up: number; down: number };
  /** The local port of every connection the proxy opened to a target (what the target sees as the source port). */
  outboundPorts: Set<number>;
  tunnelsTo(target: string): number;
  reset(): void;
  stop(): Promise<void>;
}

interface Credentials {
  user: string;
  password: string;
}

function makeProxy(server: Server, scheme: string, credentials: Credentials | undefined, sockets: Set<Socket>) {
  const proxy: TestProxy = {
    url: '',
    port: 0,
    tunnels: new Map(),
    refused: 0,
    bytes: { up: 0, down: 0 },
    outboundPorts: new Set(),
    tunnelsTo: (target) => proxy.tunnels.get(target) ?? 0,
    reset() {
      proxy.tunnels.clear();
      proxy.refused = 0;
      proxy.bytes = { up: 0, down: 0 };
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
  });
  return {
    proxy,
    listen: async () => {
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      proxy.port = (server.address() as AddressInfo).port;
      const auth = credentials ? `${encodeURIComponent(credentials.user)}:${encodeURIComponent(credentials.password)}@` : '';
      proxy.url = `${scheme}://${auth}127.0.0.1:${proxy.port}`;
      return proxy;
    },
    /** Joins the client to the target once `reply` told the client whether it could, counting what passes. */
    pipe(client: Socket, host: string, port: number, reply: (ok: boolean) => void, early: Buffer) {
      client.pause();
      const target = connect(port, host);
      sockets.add(target);
      target.on('close', () => sockets.delete(target));
      target.on('error', () => {});
      target.once('connect', () => {
        proxy.tunnels.set(`${host}:${port}`, proxy.tunnelsTo(`${host}:${port}`) + 1);
        proxy.outboundPorts.add(target.localPort ?? 0);
        reply(true);
        proxy.bytes.up += early.length;
        if (early.length) target.write(early);
        client.on('data', (chunk: Buffer) => (proxy.bytes.up += chunk.length));
        target.on('data', (chunk: Buffer) => (proxy.bytes.down += chunk.length));
        client.pipe(target).pipe(client);
      });
      target.once('error', () => {
        reply(false);
        client.destroy();
      });
      client.once('close', () => target.destroy());
      target.once('close', () => client.destroy());
    },
  };
}

/**
 * An HTTP proxy that only tunnels (CONNECT host:port), with Basic Proxy-Authorization when `credentials`;
 * an https:// one (TLS between client and proxy) when given a key and certificate.
 */
export async function startHttpProxy(credentials?: Credentials, tls?: { key: string; cert: string }): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const server = tls ? createTlsServer(tls) : createServer();
  const made = makeProxy(server, tls ? 'https' : 'http', credentials, sockets);
  server.on(tls ? 'secureConnection' : 'connection', (client: Socket) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const [requestLine, ...headerLines] = head.subarray(0, end).toString('latin1').split('\r\n');
      const rest = head.subarray(end + 4);
      const [method, authority] = requestLine!.split(' ');
      if (method !== 'CONNECT' || !authority) return void client.end('HTTP/1.1 405 Method Not Allowed\r\nConnection: close\r\n\r\n');
      if (credentials) {
        const header = headerLines.find((l) => l.toLowerCase().startsWith('proxy-authorization:'));
        const expected = `Basic ${Buffer.from(`${credentials.user}:${credentials.password}`).toString('base64')}`;
        if (header?.slice(header.indexOf(':') + 1).trim() !== expected) {
          made.proxy.refused++;
          return void client.end(
            'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n',
          );
        }
      }
      const colon = authority.lastIndexOf(':');
      const host = authority.slice(0, colon).replace(/^\[|\]$/g, '');
      made.pipe(
        client,
        host,
        Number(authority.slice(colon + 1)),
        (ok) => {
          if (!ok) return void client.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\n\r\n');
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        },
        rest,
      );
    };
    client.on('data', onData);
  });
  return made.listen();
}

/** A SOCKS5 proxy (CONNECT only; IPv4 and domain targets), with user/password authentication (RFC 1929) when `credentials`. */
export async function startSocksProxy(credentials?: Credentials): Promise<TestProxy> {
  const sockets = new Set<Socket>();
  const server = createServer();
  const made = makeProxy(server, 'socks5', credentials, sockets);
  server.on('connection', (client) => {
    let buffer = Buffer.alloc(0);
    let stage: 'greeting' | 'auth' | 'request' = 'greeting';
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (stage === 'greeting') {
          if (buffer.length < 2 || buffer.length < 2 + buffer[1]!) return;
          const methods = [...buffer.subarray(2, 2 + buffer[1]!)];
          buffer = buffer.subarray(2 + buffer[1]!);
          const wanted = credentials ? 0x02 : 0x00;
          if (!methods.includes(wanted)) {
            made.proxy.refused++;
            return void client.end(Buffer.from([0x05, 0xff]));
          }
          client.write(Buffer.from([0x05, wanted]));
          stage = credentials ? 'auth' : 'request';
        } else if (stage === 'auth') {
          if (buffer.length < 2) return;
          const userLength = buffer[1]!;
          if (buffer.length < 3 + userLength) return;
          const passwordLength = buffer[2 + userLength]!;
          if (buffer.length < 3 + userLength + passwordLength) return;
          const user = buffer.subarray(2, 2 + userLength).toString();
          const password = buffer.subarray(3 + userLength, 3 + userLength + passwordLength).toString();
          buffer = buffer.subarray(3 + userLength + passwordLength);
          if (user !== credentials!.user || password !== credentials!.password) {
            made.proxy.refused++;
            return void client.end(Buffer.from([0x01, 0x01]));
          }
          client.write(Buffer.from([0x01, 0x00]));
          stage = 'request';
        } else {
          if (buffer.length < 5) return;
          const type = buffer[3];
          const addressLength = type === 0x01 ? 4 : type === 0x03 ? 1 + buffer[4]! : type === 0x04 ? 16 : -1;
          if (addressLength < 0) return void client.end(Buffer.from([0x05, 0x08, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
          if (buffer.length < 4 + addressLength + 2) return;
          const host =
            type === 0x01
              ? [...buffer.subarray(4, 8)].join('.')
              : type === 0x03
                ? buffer.subarray(5, 5 + buffer[4]!).toString()
                : (buffer.subarray(4, 20).toString('hex').match(/.{4}/g) ?? []).join(':');
          const port = buffer.readUInt16BE(4 + addressLength);
          const rest = buffer.subarray(4 + addressLength + 2);
          client.off('data', onData);
          if (buffer[1] !== 0x01) return void client.end(Buffer.from([0x05, 0x07, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
          made.pipe(
            client,
            host,
            port,
            (ok) => {
              client.write(Buffer.from([0x05, ok ? 0x00 : 0x05, 0x00, 0x01, 0, 0, 0, 0, 0, 0]));
            },
            rest,
          );
          return;
        }
      }
    };
    client.on('data', onData);
  });
  return made.listen();
}

/** A TCP forwarder to `127.0.0.1:targetPort` whose link can be cut (every connection dropped, new ones refused) and restored. */
export interface TcpForwarder {
  port: number;
  cut(): void;
  restore(): void;
  stop(): Promise<void>;
}

export async function startTcpForwarder(targetPort: number): Promise<TcpForwarder> {
  const sockets = new Set<Socket>();
  let cut = false;
  const server = createServer((client) => {
    if (cut) return void client.destroy();
    const upstream = connect(targetPort, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => {});
    }
    client.pipe(upstream).pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      cut = false;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
