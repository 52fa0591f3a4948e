/**
 * WhatsApp's limits on an account's sending, as linked devices learn them:
 * a `mex` notification (`<notification type="mex"><update op_name>JSON`)
 * when one is set or lifted, and the answer to the `w:mex` query a device
 * makes after a send is refused with 463 (reach-out timelocked).
 */
import { randomBytes } from 'node:crypto';
import type { BinaryNode } from '@whiskeysockets/baileys';
import { child, iqResult, unixNow, S_WHATSAPP_NET } from './nodes.js';
import type { SimUser } from './directory.js';

export type RestrictionKind = 'messageCapping' | 'reachoutTimelock';

export interface SimRestriction {
  kind: RestrictionKind;
  active: boolean;
  /** When it ends (ms since the epoch). */
  until?: number;
  /** reachoutTimelock: WhatsApp's reason (BIZ_QUALITY...). */
  enforcementType?: string;
  /** messageCapping: NONE, FIRST_WARNING, SECOND_WARNING or CAPPED (CAPPED when active, NONE when not, by default). */
  cappingStatus?: string;
  totalQuota?: number;
  usedQuota?: number;
}

/** The GraphQL query ids Baileys asks with (Types/Mex.ts). */
const REACHOUT_TIMELOCK_QUERY = '23983697327930364';
const MESSAGE_CAPPING_QUERY = '24503548349331633';

const seconds = (ms: number | undefined) => (ms ? String(Math.floor(ms / 1000)) : undefined);

function timelockPayload(r: SimRestriction | undefined) {
  return {
    is_active: !!r?.active,
    ...(r?.active && r.until ? { time_enforcement_ends: seconds(r.until) } : { time_enforcement_ends: '0' }),
    enforcement_type: r?.active ? (r.enforcementType ?? 'BIZ_QUALITY') : 'DEFAULT',
  };
}

function cappingPayload(r: SimRestriction | undefined) {
  const now = Date.now();
  return {
    capping_status: r?.cappingStatus ?? (r?.active ? 'CAPPED' : 'NONE'),
    total_quota: r?.totalQuota ?? 250,
    used_quota: r?.usedQuota ?? (r?.active ? (r.totalQuota ?? 250) : 0),
    cycle_start_timestamp: seconds(now - 86_400_000),
    cycle_end_timestamp: seconds(r?.until ?? now + 6 * 86_400_000),
    server_sent_timestamp: seconds(now),
  };
}

/** The notification that tells a device its account's restriction changed. */
export function restrictionNotification(r: SimRestriction): BinaryNode {
  const [opName, data] =
    r.kind === 'reachoutTimelock'
      ? ['NotificationUserReachoutTimelockUpdate', { xwa2_notify_account_reachout_timelock: timelockPayload(r) }]
      : ['MessageCappingInfoNotification', { xwa2_notify_new_chat_messages_capping_info_update: cappingPayload(r) }];
  return {
    tag: 'notification',
    attrs: { from: S_WHATSAPP_NET, type: 'mex', id: randomBytes(8).toString('hex').toUpperCase(), t: unixNow() },
    content: [{ tag: 'update', attrs: { op_name: opName as string }, content: Buffer.from(JSON.stringify({ data })) }],
  };
}

/** Answers the `w:mex` queries about the account's restrictions; undefined for other queries. */
export function answerRestrictionQuery(
  user: SimUser | undefined,
  restrictions: Map<string, SimRestriction>,
  iq: BinaryNode,
): BinaryNode | undefined {
  const query = child(iq, 'query');
  const id = query?.attrs.query_id;
  if (!user || (id !== REACHOUT_TIMELOCK_QUERY && id !== MESSAGE_CAPPING_QUERY)) return undefined;
  const data =
    id === REACHOUT_TIMELOCK_QUERY
      ? { xwa2_fetch_account_reachout_timelock: timelockPayload(restrictions.get(`${user.phone}|reachoutTimelock`)) }
      : { xwa2_message_capping_info: cappingPayload(restrictions.get(`${user.phone}|messageCapping`)) };
  return iqResult(iq, [{ tag: 'result', attrs: {}, content: Buffer.from(JSON.stringify({ data })) }]);
}
