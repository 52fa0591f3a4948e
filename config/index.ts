import { z } from 'zod';

/**
 * All configuration, parsed once from the environment. Nothing else in the
 * code base reads process.env. Empty strings count as unset so that
 * `FOO= npm start` behaves like leaving FOO out.
 */
const optionalString = z.preprocess((v) => (v === '' ? undefined : v), z.string().optional());
const withDefault = <T extends z.ZodTypeAny>(schema: T) => z.preprocess((v) => (v === '' ? undefined : v), schema);

export const configSchema = z.object({
  PORT: withDefault(z.coerce.number().int().min(0).max(65535).default(3000)),
  API_TOKEN: optionalString.pipe(z.string().min(16, 'must be at least 16 characters').optional()),
  DATABASE_URL: optionalString.pipe(z.string().url('must be a postgres:// URL').optional()),
  TEMPORAL_ADDRESS: optionalString.pipe(
    z
      .string()
      .regex(/^[^\s:]+:\d+$/, 'must be host:port')
      .optional(),
  ),
  TEMPORAL_NAMESPACE: withDefault(z.string().min(1).default('default')),
  /** Where operators open the Temporal UI (the dashboard links campaigns, schedules and webhook deliveries there); npm start sets it when it runs the dev server. */
  TEMPORAL_UI_URL: optionalString.pipe(z.string().url().optional()),
  TASK_QUEUE: withDefault(
    z
      .string()
      .regex(/^[\w.-]+$/)
      .default('wa-gateway'),
  ),
  DATA_DIR: withDefault(z.string().min(1).default('./data')),
  PUBLIC_URL: optionalString.pipe(z.string().url().optional()),
  RATE_LIMIT_PER_MINUTE: withDefault(z.coerce.number().int().min(0).default(200)),
  // Prometheus: the token /metrics asks for (the admin token when unset), and the port of a worker's.
  METRICS_TOKEN: optionalString,
  WORKER_METRICS_PORT: withDefault(z.coerce.number().int().min(0).max(65535).default(9464)),
  LOG_LEVEL: withDefault(z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')),
  /** `json` lines or `pretty` ones (`HH:MM:SS LEVEL name: message key=value`); unset: pretty on a terminal, JSON otherwise. */
  LOG_FORMAT: withDefault(z.enum(['json', 'pretty']).optional()),
  WORKER_ROLES: withDefault(
    z
      .string()
      .default('general,sessions')
      .transform((s) =>
        s
          .split(',')
          .map((r) => r.trim())
          .filter(Boolean),
      )
      .pipe(z.array(z.enum(['general', 'sessions'])).min(1)),
  ),
  WORKER_ID: optionalString,
  /** A prebuilt workflow bundle (worker/bundleWorkflows.ts); built at start when unset. */
  WORKFLOW_BUNDLE: optionalString,
  /** How long a session may go without a heartbeat before another worker takes it over. */
  SESSION_HEARTBEAT_TIMEOUT_SECONDS: withDefault(z.coerce.number().int().min(2).max(600).default(20)),
  WA_WS_URL: withDefault(z.string().url().default('wss://web.whatsapp.com/ws/chat')),
  /** WhatsApp Web version as "major.minor.patch"; unset uses Baileys' built-in default. */
  WA_VERSION: optionalString.pipe(
    z
      .string()
      .regex(/^\d+\.\d+\.\d+$/, 'must look like 2.3000.1023223821')
      .optional(),
  ),
  /** Extra CA certificate(s) (PEM file) trusted for WhatsApp's websocket and media hosts. */
  WA_CA_FILE: optionalString,

  /** Largest media file accepted (uploads, URL fetches, data URIs). */
  MAX_MEDIA_BYTES: withDefault(
    z.coerce
      .number()
      .int()
      .min(1)
      .default(64 * 1024 * 1024),
  ),
  /** Allow media URLs on private, loopback and link-local addresses (off: SSRF protection). */
  MEDIA_ALLOW_PRIVATE_URLS: withDefault(
    z
      .enum(['true', 'false', '1', '0'])
      .default('false')
      .transform((v) => v === 'true' || v === '1'),
  ),
  /** Where media files are kept: `local` (DATA_DIR/media) or `s3` (an S3-compatible bucket, reachable from every machine). */
  MEDIA_STORE: withDefault(z.enum(['local', 's3']).default('local')),
  /** The bucket of MEDIA_STORE=s3 (required then). */
  S3_BUCKET: optionalString,
  /** An S3-compatible endpoint (MinIO, Cloudflare R2, ...); unset: AWS S3. */
  S3_ENDPOINT: optionalString.pipe(z.string().url().optional()),
  S3_REGION: withDefault(z.string().min(1).default('us-east-1')),
  /** Credentials; unset: the AWS SDK's default chain (environment, profile, instance role). */
  S3_ACCESS_KEY_ID: optionalString,
  S3_SECRET_ACCESS_KEY: optionalString,
  /** Path-style URLs (endpoint/bucket/key), as MinIO and most self-hosted servers want. */
  S3_FORCE_PATH_STYLE: withDefault(
    z
      .enum(['true', 'false', '1', '0'])
      .default('false')
      .transform((v) => v === 'true' || v === '1'),
  ),
  /** A key prefix inside the bucket (e.g. `wa-gateway/`), so that the bucket can be shared. */
  S3_PREFIX: withDefault(z.string().max(512).default('')),
  /** How long an outbox drain keeps waiting for an instance's next message before it ends (the next one then signals Temporal). */
  OUTBOX_IDLE_MS: withDefault(z.coerce.number().int().min(100).max(600_000).default(5_000)),
  /** How long a database query may take before it fails (the API answers 503); 0: no bound. */
  DB_QUERY_TIMEOUT_MS: withDefault(z.coerce.number().int().min(0).max(600_000).default(5_000)),
  /** How often each general worker wakes outboxes whose messages were left pending without a drain. */
  OUTBOX_SWEEP_SECONDS: withDefault(z.coerce.number().min(1).max(3_600).default(30)),
  /** CPU priority (nice value) of a session worker's sockets; raising it needs CAP_SYS_NICE (see worker/priority.ts). */
  SESSION_WORKER_NICE: withDefault(z.coerce.number().int().min(-20).max(0).default(-10)),
  /** How long a send request waits for the message to go out before answering 202. */
  SEND_WAIT_MS: withDefault(z.coerce.number().int().min(0).max(60_000).default(8_000)),

  /**
   * `allow`: a flow's `http` step may call private, loopback and link-local addresses (the shop's own network).
   * Denied by default: its answer is kept in the run, where a token that may edit flows could read it.
   */
  FLOW_HTTP_PRIVATE_URLS: withDefault(z.enum(['allow', 'deny']).default('deny')),
  /** `deny`: webhook receivers on private, loopback and link-local addresses are refused (checked on the connected address). */
  WEBHOOK_PRIVATE_URLS: withDefault(z.enum(['allow', 'deny']).default('allow')),
  /** How long an event's delivery is retried before it fails. */
  WEBHOOK_RETRY_HOURS: withDefault(
    z.coerce
      .number()
      .min(0.0005)
      .max(24 * 30)
      .default(24),
  ),
  /** The first pause of the retry schedule (doubling up to an hour; domain/webhookSchedule.ts). */
  WEBHOOK_BACKOFF_BASE_MS: withDefault(z.coerce.number().int().min(10).max(600_000).default(5_000)),
  /** How long events stay in the event log (streams resume within it) and delivered or failed ones in the delivery log. */
  WEBHOOK_RETENTION_DAYS: withDefault(z.coerce.number().min(0.0001).max(3_650).default(7)),
  /** Chats of one instance whose events are delivered at once (one event in flight per chat). */
  WEBHOOK_CONCURRENCY: withDefault(z.coerce.number().int().min(1).max(256).default(16)),
  /** How often each general worker fails events whose retry window ended, prunes the log and wakes deliveries a lost NOTIFY left idle. */
  WEBHOOK_SWEEP_SECONDS: withDefault(z.coerce.number().min(1).max(3_600).default(60)),
  /** How long an instance's delivery drain waits for the next event before it ends. */
  WEBHOOK_IDLE_MS: withDefault(z.coerce.number().int().min(100).max(3_600_000).default(60_000)),

  /** How often an idle event stream gets a heartbeat (an SSE comment, a WebSocket ping). */
  EVENTS_HEARTBEAT_SECONDS: withDefault(z.coerce.number().min(0.1).max(300).default(15)),
  /** How much an event stream may leave unread (bytes) before it is cut off; the client resumes from its cursor. */
  EVENTS_MAX_BUFFER_BYTES: withDefault(z.coerce.number().int().min(16_384).max(1_073_741_824).default(1_048_576)),
  /** RabbitMQ to publish every event to (amqp://user:password@host:5672/vhost); unset: no RabbitMQ sink. */
  EVENTS_AMQP_URL: optionalString,
  /** The durable topic exchange events are published to, with routing key `<instanceId>.<event>`. */
  EVENTS_AMQP_EXCHANGE: withDefault(z.string().min(1).max(255).default('wa.events')),
  /** NATS to publish every event to through JetStream (nats://host:4222); unset: no NATS sink. */
  EVENTS_NATS_URL: optionalString,
  /** The JetStream stream (created if missing, capturing `wa.>`) that subjects `wa.<instanceId>.<event>` go to. */
  EVENTS_NATS_STREAM: withDefault(
    z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/)
      .default('WA_EVENTS'),
  ),

  // Only for `npm start` when it runs the services itself (DATABASE_URL / TEMPORAL_ADDRESS unset).
  /** Path of a Temporal CLI binary; otherwise the cache, PATH, or a one-time Go build. */
  TEMPORAL_CLI: optionalString,
  TEMPORAL_DEV_PORT: withDefault(z.coerce.number().int().min(1).max(65535).default(7233)),
  TEMPORAL_UI_PORT: withDefault(z.coerce.number().int().min(1).max(65535).default(8233)),
  /** Port of the embedded Postgres; a free one when unset. */
  EMBEDDED_PG_PORT: withDefault(z.coerce.number().int().min(1).max(65535).optional()),
});

export type Config = Omit<z.infer<typeof configSchema>, 'PUBLIC_URL'> & { PUBLIC_URL: string };

export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = configSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = issue.path.join('.') || 'configuration';
    throw new ConfigError(`invalid ${name}: ${issue.message}`);
  }
  const config = parsed.data;
  if (config.MEDIA_STORE === 's3' && !config.S3_BUCKET) throw new ConfigError('invalid S3_BUCKET: required when MEDIA_STORE=s3');
  return { ...config, PUBLIC_URL: (config.PUBLIC_URL ?? `http://localhost:${config.PORT}`).replace(/\/+$/, '') };
}

/** Loads configuration or exits the process with a one-line error naming the bad value. */
export function loadConfigOrExit(env: NodeJS.ProcessEnv = process.env): Config {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}
