import type { Knex } from 'knex';

export async function up(knex: Knex): Promise<void> {
  await createInstanceTables(knex);
  await createChatTables(knex);
  await createFeatureTables(knex);
  await createDeliveryTables(knex);
}

/** Settings, instances and the Baileys session each instance runs on. */
async function createInstanceTables(knex: Knex): Promise<void> {
  await knex.schema.createTable('app_settings', (t) => {
    t.string('key', 64).primary();
    t.text('value').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('instances', (t) => {
    t.string('id', 64).primary();
    t.text('description');
    t.string('status', 16).notNullable().defaultTo('disconnected');
    t.text('qr');
    t.jsonb('account');
    t.timestamp('status_changed_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });

  await knex.schema.createTable('instance_settings', (t) => {
    t.string('instance_id', 64).primary().references('instances.id').onDelete('CASCADE');
    t.text('webhook_url');
    t.boolean('webhook_enabled').notNullable().defaultTo(false);
    t.text('webhook_secret');
    t.integer('send_delay_ms').notNullable().defaultTo(0);
    t.boolean('chatbot_enabled').notNullable().defaultTo(true);
  });

  // Baileys auth state: creds plus Signal keys, stored as opaque JSON text.
  await knex.schema.createTable('session_creds', (t) => {
    t.string('instance_id', 64).primary().references('instances.id').onDelete('CASCADE');
    t.text('creds').notNullable();
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
  await knex.schema.createTable('session_keys', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('type', 64).notNullable();
    t.string('key_id', 255).notNullable();
    t.text('value').notNullable();
    t.primary(['instance_id', 'type', 'key_id']);
  });

  // Which worker holds an instance's socket. `epoch` fences a stale holder out.
  await knex.schema.createTable('session_leases', (t) => {
    t.string('instance_id', 64).primary().references('instances.id').onDelete('CASCADE');
    t.string('worker_id', 255).notNullable();
    t.string('task_queue', 255).notNullable();
    t.bigInteger('epoch').notNullable().defaultTo(0);
    t.timestamp('heartbeat_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
  });
}

/** Messages and what WhatsApp tells about chats, contacts and groups. */
async function createChatTables(knex: Knex): Promise<void> {
  await knex.schema.createTable('messages', (t) => {
    t.bigIncrements('seq').primary();
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('id', 128).notNullable();
    t.string('chat_id', 128).notNullable();
    t.string('from_jid', 128);
    t.string('to_jid', 128);
    t.boolean('from_me').notNullable();
    t.string('type', 32).notNullable();
    t.text('body');
    t.jsonb('content');
    t.jsonb('media');
    t.string('status', 16).notNullable();
    t.text('error');
    t.string('idempotency_key', 255);
    t.bigInteger('timestamp').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.unique(['instance_id', 'id']);
    t.index(['instance_id', 'seq']);
    t.index(['instance_id', 'chat_id', 'seq']);
    t.index(['instance_id', 'status', 'seq']);
  });
  await knex.raw(
    'create unique index messages_idempotency_key on messages (instance_id, idempotency_key) where idempotency_key is not null',
  );

  await knex.schema.createTable('chats', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('id', 128).notNullable();
    t.text('name');
    t.integer('unread_count').notNullable().defaultTo(0);
    t.bigInteger('last_message');
    t.boolean('archived').notNullable().defaultTo(false);
    t.primary(['instance_id', 'id']);
  });

  await knex.schema.createTable('contacts', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('id', 128).notNullable();
    t.string('lid', 128);
    t.text('name');
    t.text('notify');
    t.primary(['instance_id', 'id']);
  });

  await knex.schema.createTable('groups', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('id', 128).notNullable();
    t.text('name');
    t.text('description');
    t.string('owner', 128);
    t.bigInteger('creation');
    t.jsonb('participants').notNullable().defaultTo('[]');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'id']);
  });
}

/** Chatbot rules, campaigns, scheduled messages and uploaded media. */
async function createFeatureTables(knex: Knex): Promise<void> {
  await knex.schema.createTable('chatbot_rules', (t) => {
    t.increments('id').primary();
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('match_type', 16).notNullable().defaultTo('exact');
    t.text('trigger_text').notNullable();
    t.text('response').notNullable();
    t.integer('delay').notNullable().defaultTo(1);
    t.boolean('enabled').notNullable().defaultTo(true);
    t.integer('priority').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['instance_id', 'priority']);
  });

  await knex.schema.createTable('bulk_jobs', (t) => {
    t.increments('id').primary();
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('message_type', 16).notNullable().defaultTo('text');
    t.text('body');
    t.text('media_url');
    t.integer('delay_seconds').notNullable().defaultTo(3);
    t.string('status', 16).notNullable().defaultTo('pending');
    t.integer('total').notNullable().defaultTo(0);
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('finished_at', { useTz: true });
    t.index(['instance_id', 'id']);
  });
  await knex.schema.createTable('bulk_recipients', (t) => {
    t.integer('job_id').notNullable().references('bulk_jobs.id').onDelete('CASCADE');
    t.integer('position').notNullable();
    t.string('recipient', 128).notNullable();
    t.text('name');
    t.string('status', 16).notNullable().defaultTo('pending');
    t.string('message_id', 128);
    t.text('error');
    t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['job_id', 'position']);
    t.index(['job_id', 'status']);
  });

  await knex.schema.createTable('scheduled_messages', (t) => {
    t.increments('id').primary();
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('recipient', 128).notNullable();
    t.text('recipient_name');
    t.string('message_type', 16).notNullable().defaultTo('text');
    t.text('body');
    t.text('media_url');
    t.text('filename');
    t.timestamp('scheduled_at', { useTz: true }).notNullable();
    t.string('status', 16).notNullable().defaultTo('pending');
    t.string('message_id', 128);
    t.text('error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.index(['instance_id', 'status', 'scheduled_at']);
  });

  await knex.schema.createTable('media', (t) => {
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('filename', 255).notNullable();
    t.text('original_name');
    t.string('mimetype', 255).notNullable();
    t.bigInteger('size').notNullable();
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.primary(['instance_id', 'filename']);
  });
}

/** Webhook delivery and rate limiting. */
async function createDeliveryTables(knex: Knex): Promise<void> {
  // Outbox of webhook events: written in the same transaction as the change
  // they describe, drained by durable webhook delivery.
  await knex.schema.createTable('webhook_events', (t) => {
    t.uuid('id').primary();
    t.string('instance_id', 64).notNullable().references('instances.id').onDelete('CASCADE');
    t.string('event', 32).notNullable();
    t.jsonb('data').notNullable();
    t.bigInteger('timestamp').notNullable();
    t.string('delivery_status', 16).notNullable().defaultTo('pending');
    t.integer('attempts').notNullable().defaultTo(0);
    t.text('last_error');
    t.timestamp('created_at', { useTz: true }).notNullable().defaultTo(knex.fn.now());
    t.timestamp('delivered_at', { useTz: true });
    t.index(['instance_id', 'created_at']);
    t.index(['delivery_status', 'created_at']);
  });

  // Fixed-window request counters shared by every API process.
  await knex.schema.createTable('rate_limit_windows', (t) => {
    t.string('bucket', 64).notNullable();
    t.timestamp('window_start', { useTz: true }).notNullable();
    t.integer('count').notNullable().defaultTo(0);
    t.primary(['bucket', 'window_start']);
  });
}

export async function down(knex: Knex): Promise<void> {
  for (const table of [
    'rate_limit_windows',
    'webhook_events',
    'media',
    'scheduled_messages',
    'bulk_recipients',
    'bulk_jobs',
    'chatbot_rules',
    'groups',
    'contacts',
    'chats',
    'messages',
    'session_leases',
    'session_keys',
    'session_creds',
    'instance_settings',
    'instances',
    'app_settings',
  ]) {
    await knex.schema.dropTableIfExists(table);
  }
}
