import type { Knex } from 'knex';
import * as init from './001_init.js';
import * as sending from './002_sending.js';
import * as sendAttemptTime from './003_send_attempt_time.js';
import * as historyIndexes from './004_history_indexes.js';
import * as outboxDrains from './005_outbox_drains.js';
import * as eventOrder from './006_event_order.js';
import * as sendFailures from './007_send_failures.js';
import * as readOnlyPickup from './008_read_only_pickup.js';
import * as leaseEpochs from './009_lease_epochs.js';
import * as webhookDelivery from './010_webhook_delivery.js';
import * as scheduledSending from './011_scheduled_sending.js';
import * as campaigns from './012_campaigns.js';
import * as chatbot from './013_chatbot.js';
import * as rateLimitBuckets from './014_rate_limit_buckets.js';
import * as apiTokens from './015_api_tokens.js';
import * as proxy from './016_proxy.js';
import * as calls from './017_calls.js';
import * as presenceRestrictions from './018_presence_restrictions.js';
import * as requestFingerprint from './019_request_fingerprint.js';
import * as botPauses from './020_bot_pauses.js';
import * as sessionWorkers from './021_session_workers.js';
import * as leaseTaskTokens from './022_lease_task_tokens.js';
import * as eventLog from './023_event_log.js';
import * as eventSinks from './024_event_sinks.js';
import * as senderLids from './025_sender_lids.js';
import * as messageChanges from './026_message_changes.js';
import * as pollVotes from './027_poll_votes.js';
import * as labels from './028_labels.js';
import * as channels from './029_channels.js';
import * as flows from './030_flows.js';
import * as flowRunsState from './031_flow_runs_state.js';

interface Migration {
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

// Migrations are listed here rather than discovered on disk, so they run the
// same from TypeScript sources, a bundle or a container image.
const migrations: Record<string, Migration> = {
  '001_init': init,
  '002_sending': sending,
  '003_send_attempt_time': sendAttemptTime,
  '004_history_indexes': historyIndexes,
  '005_outbox_drains': outboxDrains,
  '006_event_order': eventOrder,
  '007_send_failures': sendFailures,
  '008_read_only_pickup': readOnlyPickup,
  '009_lease_epochs': leaseEpochs,
  '010_webhook_delivery': webhookDelivery,
  '011_scheduled_sending': scheduledSending,
  '012_campaigns': campaigns,
  '013_chatbot': chatbot,
  '014_rate_limit_buckets': rateLimitBuckets,
  '015_api_tokens': apiTokens,
  '016_proxy': proxy,
  '017_calls': calls,
  '018_presence_restrictions': presenceRestrictions,
  '019_request_fingerprint': requestFingerprint,
  '020_bot_pauses': botPauses,
  '021_session_workers': sessionWorkers,
  '022_lease_task_tokens': leaseTaskTokens,
  '023_event_log': eventLog,
  '024_event_sinks': eventSinks,
  '025_sender_lids': senderLids,
  '026_message_changes': messageChanges,
  '027_poll_votes': pollVotes,
  '028_labels': labels,
  '029_channels': channels,
  '030_flows': flows,
  '031_flow_runs_state': flowRunsState,
};

export const migrationSource: Knex.MigrationSource<string> = {
  getMigrations: async () => Object.keys(migrations).sort(),
  getMigrationName: (name) => name,
  getMigration: async (name) => migrations[name]!,
};
