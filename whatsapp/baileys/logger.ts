/**
 * Baileys' logger: a child of the session's, through which the events Baileys
 * logs louder than they are go at the level they deserve.
 */
import type { Logger } from 'pino';
import type { ILogger } from '@whiskeysockets/baileys/lib/Utils/logger.js';

type Level = 'trace' | 'debug' | 'info' | 'warn' | 'error';

/**
 * The level an event Baileys logs at `level` deserves, when it is not that one:
 * - `stream errored out` with code 515 (error): WhatsApp asks for the restart it always asks for after a pairing,
 *   and the session reconnects at once (logged by the gateway as "connection closed", reason restartRequired);
 * - `… blocked on missing key …, parking` (warn, with a stack): an app-state collection came before the key that
 *   decrypts it, as it does after a pairing; Baileys syncs it again when the key arrives, as WhatsApp Web does.
 */
export function deservedLevel(level: Level, fields: unknown, message: string | undefined): Level {
  const node = (fields as { fullErrorNode?: { attrs?: { code?: string } } } | undefined)?.fullErrorNode;
  if (message === 'stream errored out' && node?.attrs?.code === '515') return 'info';
  if (level === 'warn' && message && /blocked on missing key .*parking/.test(message)) return 'info';
  return level;
}

/** Multi-line values (Baileys puts whole stacks in `error`) cut to their first line below warn. */
function withoutStacks(fields: unknown): unknown {
  if (!fields || typeof fields !== 'object') return fields;
  return Object.fromEntries(
    Object.entries(fields as Record<string, unknown>).map(([key, value]) => [
      key,
      typeof value === 'string' && value.includes('\n') ? value.slice(0, value.indexOf('\n')) : value,
    ]),
  );
}

/** Wraps a pino logger for Baileys (its `ILogger`), children included. */
export function baileysLogger(logger: Logger): ILogger {
  const log = (level: Level) => (fields: unknown, message?: string) => {
    const deserved = deservedLevel(level, fields, message);
    if (!logger.isLevelEnabled(deserved)) return;
    const shown = deserved === level ? fields : withoutStacks(fields);
    // As Baileys called it: (fields, message), or (message) alone.
    (logger[deserved] as (...args: unknown[]) => void).apply(logger, message === undefined ? [shown] : [shown, message]);
  };
  return {
    get level() {
      return logger.level;
    },
    set level(level: string) {
      logger.level = level;
    },
    child: (bindings) => baileysLogger(logger.child(bindings)),
    trace: log('trace'),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
}
