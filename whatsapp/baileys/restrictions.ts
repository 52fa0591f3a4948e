/**
 * WhatsApp's account restrictions as Baileys reports them (a `mex`
 * notification, or the answer to its reach-out timelock query after a 463
 * nack), as the gateway's AccountRestriction.
 */
import type { NewChatMessageCapInfo, ReachoutTimelockState } from '@whiskeysockets/baileys';
import type { AccountRestriction } from '../session.js';

/** `message-capping.update`: only CAPPED stops sending new chats; the warnings are reported as they are. */
export function fromMessageCapping(info: NewChatMessageCapInfo): AccountRestriction {
  const status = info.capping_status ?? 'NONE';
  const until = unixTime(info.cycle_end_timestamp);
  return {
    kind: 'messageCapping',
    active: status === 'CAPPED',
    status,
    ...(typeof info.total_quota === 'number' ? { totalQuota: info.total_quota } : {}),
    ...(typeof info.used_quota === 'number' ? { usedQuota: info.used_quota } : {}),
    ...(until ? { until } : {}),
  };
}

/** `connection.update`'s `reachoutTimeLock`. */
export function fromReachoutTimelock(state: ReachoutTimelockState): AccountRestriction {
  const active = !!state.isActive;
  const until = active && state.timeEnforcementEnds ? state.timeEnforcementEnds.getTime() : undefined;
  return {
    kind: 'reachoutTimelock',
    active,
    ...(until && Number.isFinite(until) ? { until } : {}),
    enforcementType: state.enforcementType ?? 'DEFAULT',
  };
}

/** A unix time in seconds (as WhatsApp's GraphQL answers give it) in ms; undefined when absent or 0. */
function unixTime(value: string | number | undefined): number | undefined {
  const n = Number(value);
  if (!value || !Number.isFinite(n) || n <= 0) return undefined;
  return n < 1e12 ? n * 1000 : n;
}
