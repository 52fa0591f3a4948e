/**
 * Incoming calls on the worker holding the session: each is recorded with a
 * `call` webhook event; with the instance's `rejectCalls` on, it is declined
 * at once and, with `rejectCallsMessage`, the caller gets that text through
 * the outbox (stored first, so it goes out durably and in order with the
 * instance's other sends, once per call).
 */
import type { Logger } from 'pino';
import type { Db } from '../db/knex.js';
import { endCall, recordCall, type CallState } from '../db/calls.js';
import { getInstance } from '../db/instances.js';
import { insertOutgoing, outgoing } from '../db/outgoing.js';
import { getSettings } from '../db/settings.js';
import { newMessageId } from '../domain/content.js';
import type { CallStatus, IncomingCall, WhatsAppSession } from '../whatsapp/session.js';

export interface CallDeps {
  db: Db;
  logger: Logger;
  /** Wakes the instance's outbox, when no drain is running to take the reply. */
  wakeOutbox: (instanceId: string) => Promise<void>;
}

/** How a call ended, by what WhatsApp told the device. */
const ENDINGS: Record<Exclude<CallStatus, 'offer'>, Exclude<CallState, 'offered'>> = {
  reject: 'rejected',
  accept: 'accepted-elsewhere',
  timeout: 'missed',
  terminate: 'missed',
};

export function createCallHandler(deps: CallDeps, instanceId: string, session: () => WhatsAppSession | undefined) {
  const log = deps.logger;
  // One call event at a time, in the order WhatsApp sent them: an offer is recorded before its end.
  let queue = Promise.resolve();

  async function offered(call: IncomingCall): Promise<void> {
    const settings = await getSettings(deps.db, instanceId);
    let status: CallState = 'offered';
    // A call that came while the device was offline is over: nothing rings any more to decline.
    if (settings.rejectCalls && !call.offline) {
      try {
        await session()?.rejectCall(call.id, call.creator);
        status = 'rejected';
      } catch (err) {
        log.warn({ err, instanceId, callId: call.id }, 'declining a call failed');
      }
    }
    const fresh = await recordCall(deps.db, instanceId, {
      id: call.id,
      from: call.from,
      ...(call.fromLid ? { fromLid: call.fromLid } : {}),
      video: call.video,
      group: call.group,
      status,
      timestamp: call.timestamp,
    });
    if (!fresh || status !== 'rejected' || !settings.rejectCallsMessage || call.group) return;
    const instance = await getInstance(deps.db, instanceId);
    const { created, drainActive } = await insertOutgoing(
      deps.db,
      outgoing(instance, {
        instanceId,
        id: newMessageId(),
        chatId: call.from,
        content: { type: 'text', body: settings.rejectCallsMessage },
        // One reply per call, however often its offer is seen.
        idempotencyKey: `call-reply-${call.id}`,
        source: 'call',
      }),
    );
    if (created && !drainActive) await deps.wakeOutbox(instanceId);
  }

  return {
    handle(calls: IncomingCall[]): void {
      for (const call of calls) {
        queue = queue
          .then(() =>
            call.status === 'offer' ? offered(call) : endCall(deps.db, instanceId, call.id, ENDINGS[call.status]).then(() => {}),
          )
          .catch((err) => log.error({ err, instanceId, callId: call.id }, 'recording a call failed'));
      }
    },
    settled: () => queue,
  };
}
