/**
 * The gateway's events as every way out carries them (webhooks, streams,
 * brokers) and the dashboard reads them: their names and their envelope.
 */

/** Every event the gateway records, by name. */
export const EVENT_NAMES = [
  'message_received',
  'message_ack',
  'connection_status',
  'webhook_test',
  'scheduled_sent',
  'scheduled_failed',
  'bulk_completed',
  'account_restriction',
  'call',
  'group_participants',
  'group_update',
  'chatbot_paused',
  'message_edited',
  'message_revoked',
  'poll_vote',
  'status_received',
  'label_update',
  'channel_message',
  'flow_started',
  'flow_completed',
  'flow_handoff',
  'flow_failed',
] as const;

export type GatewayEvent = (typeof EVENT_NAMES)[number];

/** The contract's envelope plus the event's stable `id` and its `seq`. */
export interface Envelope {
  event: string;
  data: Record<string, unknown>;
  timestamp: number;
  instance_id: string;
  id: string;
  seq: number;
}

export const envelopeOf = (instanceId: string, e: Omit<Envelope, 'instance_id'>): Envelope => ({
  event: e.event,
  data: e.data,
  timestamp: e.timestamp,
  instance_id: instanceId,
  id: e.id,
  seq: e.seq,
});
