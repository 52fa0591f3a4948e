/**
 * Per-instance settings: one schema for what is stored, its defaults and what
 * `POST .../settings` accepts, read and written only here. A change NOTIFYs
 * SETTINGS_CHANNEL with the instance id, so every process can see it at once.
 */
import { z } from 'zod';
import type { Knex } from 'knex';
import type { Db } from './knex.js';

export const SETTINGS_CHANNEL = 'wa_settings';

/** Whether a time zone name is one the runtime knows (`Europe/Istanbul`, `UTC`). */
function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat('en', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** Standard Webhooks secrets: `whsec_` + base64 of 24 to 64 random bytes. */
export function isWebhookSecret(value: string): boolean {
  const encoded = /^whsec_([A-Za-z0-9+/]+={0,2})$/.exec(value)?.[1];
  if (!encoded) return false;
  const bytes = Buffer.from(encoded, 'base64');
  return bytes.length >= 24 && bytes.length <= 64 && bytes.toString('base64') === encoded;
}

/** How `GET .../settings` shows a secret: never in full. */
export const maskSecret = (secret: string | null) => (secret ? `whsec_…${secret.slice(-4)}` : '');

/** The schemes a proxy URL may have (socks5h: the proxy resolves host names). */
export const PROXY_SCHEMES = ['http:', 'https:', 'socks5:', 'socks5h:'];

/** Why a proxy URL is not one the gateway can use, or undefined when it is. */
export function proxyUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be a URL such as http://host:3128 or socks5://user:password@host:1080 (or "" to remove it)';
  }
  if (!PROXY_SCHEMES.includes(url.protocol)) return `must start with http://, https://, socks5:// or socks5h:// (not ${url.protocol}//)`;
  if (!url.hostname) return 'must name the proxy host';
  if ((url.pathname && url.pathname !== '/') || url.search || url.hash)
    return 'must be the proxy address only (no path, query or fragment)';
  if (url.password && !url.username) return 'has a password without a user name';
  return undefined;
}

/** How `GET .../settings` shows a proxy URL: the password never (`socks5://user:****@host:1080`). */
export function maskProxyUrl(value: string | null): string {
  if (!value) return '';
  try {
    const url = new URL(value);
    const user = url.username ? `${url.username}${url.password ? ':****' : ''}@` : '';
    return `${url.protocol}//${user}${url.host}`;
  } catch {
    return '';
  }
}

const MAX_SEND_DELAY_MS = 3_600_000;
const MAX_PAUSE_MINUTES = 7 * 24 * 60;
const MAX_REPLIES_PER_MINUTE = 60;
const MAX_CALL_REPLY_LENGTH = 4_096;
export const DEFAULT_OPT_OUT_KEYWORDS = ['STOP', 'DUR', 'İPTAL'];

/** The settings of an instance as the gateway uses them, with their defaults. */
export const instanceSettingsSchema = z.object({
  webhookUrl: z.string().nullable().default(null),
  webhookEnabled: z.boolean().default(false),
  webhookSecret: z.string().nullable().default(null),
  sendDelayMs: z.number().int().min(0).max(MAX_SEND_DELAY_MS).default(0),
  chatbotEnabled: z.boolean().default(true),
  /** An incoming 1:1 text equal to one of these (case and accents aside) puts its sender on the opt-out list. */
  optOutKeywords: z.array(z.string()).default(DEFAULT_OPT_OUT_KEYWORDS),
  /** After a person writes in a chat (on the phone, or a send marked `byPerson`), the bot stays silent there this long. */
  chatbotPauseMinutes: z.number().int().min(0).max(MAX_PAUSE_MINUTES).default(30),
  /** At most this many automatic replies per chat per minute: two bots answering each other stop there. */
  chatbotRepliesPerMinute: z.number().int().min(1).max(MAX_REPLIES_PER_MINUTE).default(5),
  /** The instance's time zone (IANA name), for `{time}` in replies. */
  timezone: z.string().default('Europe/Istanbul'),
  /** Incoming calls are declined at once (recorded, and their webhook event says so). */
  rejectCalls: z.boolean().default(false),
  /** With rejectCalls: a text sent to the caller (through the outbox) after declining. */
  rejectCallsMessage: z.string().nullable().default(null),
  /** The proxy the session's WhatsApp connections (websocket, media uploads and downloads) go through. */
  proxyUrl: z.string().nullable().default(null),
  /** A message deleted for everyone keeps its body, edits and media (by default they are erased; it stays marked). */
  keepRevokedMessages: z.boolean().default(false),
});
export type InstanceSettings = z.infer<typeof instanceSettingsSchema>;
export const DEFAULT_SETTINGS: InstanceSettings = instanceSettingsSchema.parse({});

const booleanLike = z.union([z.boolean(), z.enum(['true', 'false']).transform((v) => v === 'true')], { error: 'must be true or false' });
const removable = (v: string) => v || null;

/**
 * What `POST/PUT .../settings` accepts (the original API's names; values may
 * come as strings), turned into a patch of InstanceSettings. `""` removes a
 * URL or a secret.
 */
export const settingsPatchSchema = z
  .object({
    webhookUrl: z
      .string()
      .max(2_048)
      .refine((v) => v === '' || /^https?:\/\/[^\s]+$/.test(v), 'must be an http(s) URL (or "" to remove it)')
      .transform(removable)
      .optional(),
    webhookEnabled: booleanLike.optional(),
    webhookSecret: z
      .string()
      .refine((v) => v === '' || isWebhookSecret(v), 'must be "whsec_" followed by the base64 of 24 to 64 bytes (or "" to remove it)')
      .transform(removable)
      .optional(),
    sendDelay: z.coerce.number({ error: 'must be a number of milliseconds' }).int().min(0).max(MAX_SEND_DELAY_MS).optional(),
    chatbotEnabled: booleanLike.optional(),
    optOutKeywords: z
      .union([z.string().max(2_000), z.array(z.string().max(100)).max(50)], {
        error: 'must be a comma-separated string or a list of words',
      })
      .transform((v) => (Array.isArray(v) ? v : v.split(',')).map((k) => k.trim()).filter(Boolean))
      .optional(),
    chatbotPauseMinutes: z.coerce
      .number({ error: 'must be a number of minutes' })
      .int('must be a whole number of minutes')
      .min(0)
      .max(MAX_PAUSE_MINUTES, `must be at most ${MAX_PAUSE_MINUTES} (a week)`)
      .optional(),
    chatbotRepliesPerMinute: z.coerce
      .number({ error: 'must be a number' })
      .int('must be a whole number')
      .min(1)
      .max(MAX_REPLIES_PER_MINUTE)
      .optional(),
    timezone: z.string().max(64).refine(isTimeZone, 'must be an IANA time zone such as Europe/Istanbul or UTC').optional(),
    rejectCalls: booleanLike.optional(),
    keepRevokedMessages: booleanLike.optional(),
    rejectCallsMessage: z
      .string({ error: 'must be a text (or "" for none)' })
      .max(MAX_CALL_REPLY_LENGTH, `must be at most ${MAX_CALL_REPLY_LENGTH} characters`)
      .transform((v) => removable(v.trim()))
      .optional(),
    proxyUrl: z
      .string({ error: 'must be a proxy URL (or "" to remove it)' })
      .max(2_048)
      .trim()
      .superRefine((v, ctx) => {
        const problem = v === '' ? undefined : proxyUrlProblem(v);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      })
      .transform(removable)
      .optional(),
  })
  .transform(({ sendDelay, ...rest }): Partial<InstanceSettings> => {
    const patch: Partial<InstanceSettings> = { ...rest, ...(sendDelay !== undefined ? { sendDelayMs: sendDelay } : {}) };
    return Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== undefined));
  });

const COLUMNS: Record<keyof InstanceSettings, string> = {
  webhookUrl: 'webhook_url',
  webhookEnabled: 'webhook_enabled',
  webhookSecret: 'webhook_secret',
  sendDelayMs: 'send_delay_ms',
  chatbotEnabled: 'chatbot_enabled',
  optOutKeywords: 'opt_out_keywords',
  chatbotPauseMinutes: 'chatbot_pause_minutes',
  chatbotRepliesPerMinute: 'chatbot_replies_per_minute',
  timezone: 'timezone',
  rejectCalls: 'reject_calls',
  rejectCallsMessage: 'reject_calls_message',
  proxyUrl: 'proxy_url',
  keepRevokedMessages: 'keep_revoked',
};

function fromRow(row: Record<string, unknown> | undefined): InstanceSettings {
  if (!row) return { ...DEFAULT_SETTINGS };
  const values = Object.fromEntries(Object.entries(COLUMNS).map(([key, column]) => [key, row[column] ?? undefined]));
  // Stored as one comma-separated text.
  if (typeof values.optOutKeywords === 'string') values.optOutKeywords = values.optOutKeywords.split(',').filter(Boolean);
  return instanceSettingsSchema.parse(values);
}

const toColumn = (key: keyof InstanceSettings, value: unknown) => (key === 'optOutKeywords' ? (value as string[]).join(',') : value);

export async function getSettings(db: Db | Knex.Transaction, instanceId: string): Promise<InstanceSettings> {
  return fromRow(await db('instance_settings').where({ instance_id: instanceId }).first());
}

/** Applies a patch and announces the change; returns the settings now in force. */
export async function updateSettings(db: Db, instanceId: string, patch: Partial<InstanceSettings>): Promise<InstanceSettings> {
  const columns = Object.fromEntries(
    Object.entries(patch).map(([key, value]) => [COLUMNS[key as keyof InstanceSettings], toColumn(key as keyof InstanceSettings, value)]),
  );
  if (Object.keys(columns).length === 0) return getSettings(db, instanceId);
  return db.transaction(async (trx) => {
    const [row] = await trx('instance_settings')
      .insert({ instance_id: instanceId, ...columns })
      .onConflict('instance_id')
      .merge(columns)
      .returning('*');
    await trx.raw('select pg_notify(?, ?)', [SETTINGS_CHANNEL, instanceId]);
    return fromRow(row);
  });
}
