/**
 * The brokers an event sink publishes to. Each publishes a page of events in
 * the log's order and resolves only once the broker has them:
 *
 * - RabbitMQ (amqplib): a durable topic exchange, routing key
 *   `<instanceId>.<event>`, persistent messages on a confirm channel; the
 *   page is published, then its confirms awaited.
 * - NATS JetStream: subject `wa.<instanceId>.<event>` in a stream that
 *   captures `wa.>` (created if missing), each message with the event's id as
 *   `Nats-Msg-Id`, so JetStream drops a duplicate within its window; every
 *   ack awaited.
 *
 * Each message is the webhook's envelope; its id is the event's id, the same
 * on a publish made again after a crash.
 */
import amqp from 'amqplib';
import { connect as natsConnect, type NatsConnection } from 'nats';
import type { LoggedEvent } from '../db/eventLog.js';
import { envelopeOf } from '../domain/events.js';

export interface SinkPublisher {
  publish(events: LoggedEvent[]): Promise<void>;
  close(): Promise<void>;
}

/** How long a broker may take to confirm a page. */
const CONFIRM_TIMEOUT_MS = 30_000;

const body = (e: LoggedEvent) => Buffer.from(JSON.stringify(envelopeOf(e.instanceId, e)));

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))),
  ]);
}

export async function connectAmqp(url: string, exchange: string): Promise<SinkPublisher> {
  const connection = await within(amqp.connect(url), 10_000, 'connecting to RabbitMQ');
  let broken: Error | undefined;
  connection.on('error', (err: Error) => (broken = err));
  connection.on('close', () => (broken ??= new Error('the RabbitMQ connection closed')));
  try {
    const channel = await connection.createConfirmChannel();
    channel.on('error', (err: Error) => (broken = err));
    channel.on('close', () => (broken ??= new Error('the RabbitMQ channel closed')));
    await channel.assertExchange(exchange, 'topic', { durable: true });
    return {
      async publish(events) {
        if (broken) throw broken;
        for (const e of events)
          channel.publish(exchange, `${e.instanceId}.${e.event}`, body(e), {
            persistent: true,
            messageId: e.id,
            type: e.event,
            contentType: 'application/json',
            timestamp: Math.floor(e.timestamp / 1000),
          });
        await within(channel.waitForConfirms(), CONFIRM_TIMEOUT_MS, 'RabbitMQ confirms');
        if (broken) throw broken;
      },
      close: () => connection.close().catch(() => {}),
    };
  } catch (err) {
    await connection.close().catch(() => {});
    throw err;
  }
}

export async function connectNats(url: string, stream: string): Promise<SinkPublisher> {
  const connection: NatsConnection = await natsConnect({ servers: url, timeout: 10_000, name: 'wa-gateway' });
  try {
    const manager = await connection.jetstreamManager();
    try {
      await manager.streams.info(stream);
    } catch {
      await manager.streams.add({ name: stream, subjects: ['wa.>'] });
    }
    const js = connection.jetstream();
    return {
      async publish(events) {
        // Sent in order on one connection: JetStream stores them in that order; a page cut short by a failure
        // stored a prefix of it, and the page published again is deduplicated by id.
        await Promise.all(
          events.map((e) => js.publish(`wa.${e.instanceId}.${e.event}`, body(e), { msgID: e.id, timeout: CONFIRM_TIMEOUT_MS })),
        );
      },
      close: () => connection.close().catch(() => {}),
    };
  } catch (err) {
    await connection.close().catch(() => {});
    throw err;
  }
}
