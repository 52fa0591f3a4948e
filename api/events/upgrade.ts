/**
 * WebSocket upgrades through the Express app: the HTTP server's `upgrade`
 * event hands the request to the app with a response written to the same
 * socket, so it meets the same middleware as any request (token, rate
 * limit, instance and scope). A route that takes it calls `accept` and
 * completes the handshake; any other answer (401, 404, 426...) is written as
 * HTTP and the socket closed.
 */
import { ServerResponse, type IncomingMessage, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

export interface Upgrade {
  socket: Duplex;
  head: Buffer;
  /** The route takes the socket: the response will not be written. */
  accept(res: ServerResponse): void;
}

const UPGRADE = Symbol('websocket upgrade');

/** The pending upgrade of a request that came through `routeUpgrades`; undefined for plain HTTP. */
export const upgradeOf = (req: IncomingMessage): Upgrade | undefined => (req as unknown as Record<symbol, Upgrade | undefined>)[UPGRADE];

export function routeUpgrades(server: Server, app: (req: IncomingMessage, res: ServerResponse) => void): void {
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (req.headers.upgrade?.toLowerCase() !== 'websocket') return void socket.destroy();
    const res = new ServerResponse(req);
    res.shouldKeepAlive = false;
    res.assignSocket(socket as Socket);
    let accepted = false;
    const upgrade: Upgrade = {
      socket,
      head,
      accept: (response) => {
        accepted = true;
        response.detachSocket(socket as Socket);
      },
    };
    (req as unknown as Record<symbol, Upgrade>)[UPGRADE] = upgrade;
    res.on('finish', () => {
      if (!accepted) socket.end();
    });
    app(req, res);
  });
}
