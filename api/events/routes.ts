/**
 * `GET /api/events`, `GET /api/instance/{id}/events` (server-sent events) and
 * their `/ws` twins (a WebSocket): the event log, live, resumable from a
 * cursor (`Last-Event-ID`, `?after=`), filtered by `?types=`.
 *
 * Each event goes out as the envelope a webhook gets; SSE gives its cursor as
 * the message's `id:`, a WebSocket frame as `cursor`. A WebSocket request
 * reaches these routes through the HTTP server's `upgrade` event
 * (api/events/upgrade.ts), so it passes the same token, scope, rate limit and
 * instance checks as any request, and a refusal is a plain HTTP answer.
 */
import type { Duplex } from 'node:stream';
import type { Request, Response } from 'express';
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import type { Db } from '../../db/knex.js';
import { EVENT_NAMES, envelopeOf } from '../../domain/events.js';
import { type Cursor, compareCursors, formatCursor, parseCursor, prunedThrough } from '../../db/eventLog.js';
import { BadRequest, Gone, UpgradeRequired } from '../../lib/errors.js';
import { route } from '../route.js';
import { instanceOf } from '../instances.js';
import type { EventHub } from './hub.js';
import { Feed, untilDrained, type FeedTransport } from './feed.js';
import { upgradeOf } from './upgrade.js';

export interface EventRouteDeps {
  db: Db;
  hub: EventHub;
  heartbeatMs: number;
  maxBufferBytes: number;
}

const KNOWN = new Set<string>(EVENT_NAMES);

export const streamQuery = z.object({
  after: z
    .string()
    .max(64)
    .optional()
    .refine((v) => v === undefined || parseCursor(v) !== null, 'must be a cursor, as an event stream gave it (`id:` or `cursor`)'),
  types: z
    .string()
    .max(1_000)
    .optional()
    .refine(
      (v) => v === undefined || v.split(',').every((t) => KNOWN.has(t.trim())),
      `must be event names separated by commas, of: ${EVENT_NAMES.join(', ')}`,
    ),
});

interface StreamRequest {
  instanceId: string | null;
  types: Set<string> | null;
  after: Cursor | null;
}

/** The stream's filter and start, checked before anything is sent: 400 for a bad one, 410 for a cursor past the retention. */
async function streamRequest(db: Db, req: Request, res: Response, query: z.infer<typeof streamQuery>, perInstance: boolean) {
  const lastEventId = req.get('last-event-id');
  if (lastEventId !== undefined && lastEventId !== '' && parseCursor(lastEventId) === null)
    throw new BadRequest('Last-Event-ID: must be a cursor, as an event stream gave it');
  // Last-Event-ID is what a reconnecting EventSource sends: it is later than the ?after= of its first URL.
  const after = parseCursor(lastEventId || query.after || '') ?? null;
  if (after) {
    const pruned = await prunedThrough(db);
    if (compareCursors(after, pruned) < 0)
      throw new Gone(
        `events after cursor ${formatCursor(after)} were deleted (kept WEBHOOK_RETENTION_DAYS); start without a cursor`,
        'CURSOR_EXPIRED',
      );
  }
  const types = query.types ? new Set(query.types.split(',').map((t) => t.trim())) : null;
  return { instanceId: perInstance ? instanceOf(res).id : null, types, after } satisfies StreamRequest;
}

/** The two routes of one scope (all instances, or the one in the path). */
export function eventRoutes(deps: EventRouteDeps, perInstance: boolean) {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 4_096 });

  const sse = route({ query: streamQuery }, async ({ query }, req, res) => {
    const stream = await streamRequest(deps.db, req, res, query, perInstance);
    // The connection is the stream's alone: it closes when the stream ends.
    res.shouldKeepAlive = false;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      // nginx would otherwise hold events back in its buffer.
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    res.write('retry: 2000\n\n');
    const transport: FeedTransport = {
      kind: 'sse',
      send: (event) =>
        void res.write(
          `id: ${formatCursor(event.cursor)}\nevent: ${event.event}\ndata: ${JSON.stringify(envelopeOf(event.instanceId, event))}\n\n`,
        ),
      mark: (cursor) => void res.write(`id: ${formatCursor(cursor)}\n\n`),
      buffered: () => res.writableLength,
      drained: () => untilDrained(res),
      cut: (reason, resumeFrom) => {
        res.end(
          `event: stream_error\ndata: ${JSON.stringify({ error: reason, code: 'SLOW_CONSUMER', cursor: formatCursor(resumeFrom) })}\n\n`,
        );
        // What is written still goes out if the client reads; one that stopped reading is let go.
        setTimeout(() => res.destroy(), 30_000).unref();
      },
      end: () => res.end(),
    };
    const feed = new Feed(deps.db, deps.hub, stream, transport, { after: stream.after, maxBufferBytes: deps.maxBufferBytes });
    const heartbeat = setInterval(() => {
      res.write(': ping\n\n');
      feed.markNow();
    }, deps.heartbeatMs);
    res.on('close', () => {
      clearInterval(heartbeat);
      feed.close();
    });
    await feed.start().catch((err) => {
      req.log?.warn({ err }, 'event stream failed while catching up; the client resumes from its cursor');
      feed.close();
      res.destroy();
    });
    return undefined;
  });

  const ws = route({ query: streamQuery }, async ({ query }, req, res) => {
    const upgrade = upgradeOf(req);
    if (!upgrade) throw new UpgradeRequired('this route is a WebSocket: connect with a WebSocket client, or use the SSE route without /ws');
    const stream = await streamRequest(deps.db, req, res, query, perInstance);
    upgrade.accept(res);
    wss.handleUpgrade(req, upgrade.socket, upgrade.head, (socket) => serveSocket(deps, socket, upgrade.socket, stream, req));
    return undefined;
  });

  return { sse, ws };
}

function serveSocket(deps: EventRouteDeps, socket: WebSocket, raw: Duplex, stream: StreamRequest, req: Request): void {
  const transport: FeedTransport = {
    kind: 'websocket',
    send: (event) => socket.send(JSON.stringify({ ...envelopeOf(event.instanceId, event), cursor: formatCursor(event.cursor) })),
    mark: () => {},
    buffered: () => socket.bufferedAmount,
    // What the WebSocket writes waits in its socket (no compression, so nothing is held in ws itself).
    drained: () => untilDrained(raw),
    // 4008: the gateway's own close code for a client that did not keep up (4000-4999 are for applications).
    cut: (_reason, resumeFrom) => socket.close(4008, `slow consumer; resume with after=${formatCursor(resumeFrom)}`.slice(0, 123)),
    end: () => socket.close(1001, 'the gateway is stopping; resume from your last cursor'),
  };
  const feed = new Feed(deps.db, deps.hub, stream, transport, { after: stream.after, maxBufferBytes: deps.maxBufferBytes });
  let alive = true;
  socket.on('pong', () => (alive = true));
  const heartbeat = setInterval(() => {
    // No answer to the last ping: the connection is gone without a word.
    if (!alive) return socket.terminate();
    alive = false;
    socket.ping();
  }, deps.heartbeatMs);
  socket.on('close', () => {
    clearInterval(heartbeat);
    feed.close();
  });
  socket.on('error', () => socket.terminate());
  feed.start().catch((err) => {
    req.log?.warn({ err }, 'event stream failed while catching up; the client resumes from its cursor');
    socket.close(1011, 'the event log could not be read; resume from your last cursor');
  });
}
