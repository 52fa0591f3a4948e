import { jidNormalizedUser, type WACallEvent } from '@whiskeysockets/baileys';
import type { CallStatus, IncomingCall } from '../session.js';

const REPORTED: ReadonlySet<string> = new Set<CallStatus>(['offer', 'reject', 'accept', 'timeout', 'terminate']);

/**
 * A Baileys call event as the gateway's IncomingCall, or undefined for the
 * steps of a call the gateway does not follow (ringing, transport, relay
 * latency...). The caller is its phone-number JID when WhatsApp sends one
 * beside a LID (`caller_pn`).
 */
export function toIncomingCall(call: WACallEvent): IncomingCall | undefined {
  if (!REPORTED.has(call.status) || !call.id || !call.from) return undefined;
  const pn = call.callerPn ? jidNormalizedUser(call.callerPn) : undefined;
  const lid = call.from.endsWith('@lid') ? jidNormalizedUser(call.from) : undefined;
  return {
    id: call.id,
    from: pn || jidNormalizedUser(call.from),
    ...(lid ? { fromLid: lid } : {}),
    creator: call.from,
    status: call.status as CallStatus,
    video: !!call.isVideo,
    group: !!call.isGroup,
    timestamp: Math.floor((call.date?.getTime?.() || Date.now()) / 1000),
    offline: call.offline,
  };
}
