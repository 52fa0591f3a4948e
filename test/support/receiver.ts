/**
 * A webhook receiver for tests: a real HTTP server on a free loopback port
 * that records every request and answers as the test says.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  at: number;
  headers: IncomingMessage['headers'];
  body: string;
  /** Requests being answered when this one arrived (itself included). */
  inFlightAtArrival: number;
  /** The status it was answered with, and when (unset while unanswered or when the test took over). */
  status?: number;
  answeredAt?: number;
  json: { id: string; seq: number; event: string; data: Record<string, unknown>; timestamp: number; instance_id: string };
}

/** How to answer a request: a status (and headers), or take over the response (hang, stream...). */
export type Answer =
  number | { status: number; headers?: Record<string, string>; body?: string } | ((req: IncomingMessage, res: ServerResponse) => void);

export interface Receiver {
  url: string;
  received: Received[];
  /** Requests being answered right now, and the most there were at once. */
  inFlight: number;
  maxInFlight: number;
  /** What the next requests get; `answer` for the rest (default 200). */
  answers: Answer[];
  answer: Answer;
  /** Decides per request (before `answers` and `answer`) when it returns something. */
  decide?: (received: Received) => Answer | undefined;
  /** Delay before answering (ms). */
  delayMs: number;
  byEvent(event: string): Received[];
  stop(): Promise<void>;
}

export async function startReceiver(): Promise<Receiver> {
  const sockets = new Set<import('node:net').Socket>();
  const receiver: Receiver = {
    url: '',
    received: [],
    inFlight: 0,
    maxInFlight: 0,
    answers: [],
    answer: 200,
    delayMs: 0,
    byEvent: (event) => receiver.received.filter((r) => r.json.event === event),
    stop: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let json: Received['json'];
      try {
        json = JSON.parse(body);
      } catch {
        json = { id: '', seq: 0, event: '', data: {}, timestamp: 0, instance_id: '' };
      }
      receiver.inFlight++;
      const received: Received = { at: Date.now(), headers: req.headers, body, json, inFlightAtArrival: receiver.inFlight };
      receiver.received.push(received);
      receiver.maxInFlight = Math.max(receiver.maxInFlight, receiver.inFlight);
      res.on('close', () => receiver.inFlight--);
      if (receiver.delayMs) await new Promise((r) => setTimeout(r, receiver.delayMs));
      const answer = receiver.decide?.(received) ?? receiver.answers.shift() ?? receiver.answer;
      if (typeof answer === 'function') return answer(req, res);
      const { status, headers, body: text } = typeof answer === 'number' ? { status: answer, headers: {}, body: '' } : answer;
      res.writeHead(status, headers);
      res.end(text ?? '');
      received.status = status;
      received.answeredAt = Date.now();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiver.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
  return receiver;
}
