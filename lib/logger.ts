import { pino, type Logger } from 'pino';
import { logFormat, prettyStream, type LogFormat } from './logFormat.js';

export type { Logger, LogFormat };

/** Removes credentials from a URL's query string before it is logged. */
const SECRET_PARAMS = new Set(['token', 'api_key', 'apikey', 'access_token']);

const decoded = (part: string) => {
  try {
    return decodeURIComponent(part.replace(/\+/g, ' '));
  } catch {
    return part;
  }
};

/**
 * The URL with the values of its secret query parameters replaced, their
 * names compared as the query parser reads them (`?%74oken=` is `?token=`).
 */
export function redactUrl(url: string): string {
  const start = url.indexOf('?');
  if (start < 0) return url;
  const end = url.indexOf('#', start) < 0 ? url.length : url.indexOf('#', start);
  const query = url
    .slice(start + 1, end)
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      const name = eq < 0 ? pair : pair.slice(0, eq);
      return SECRET_PARAMS.has(decoded(name).trim().toLowerCase()) ? `${name}=[REDACTED]` : pair;
    })
    .join('&');
  return `${url.slice(0, start + 1)}${query}${url.slice(end)}`;
}

/** A process's logger: JSON lines, or readable ones (`format`, LOG_FORMAT; unset: readable on a terminal). */
export function createLogger(level: string, name: string, format?: LogFormat): Logger {
  const options = {
    name,
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', '*.token', '*.apiToken'],
      censor: '[REDACTED]',
    },
  };
  return logFormat(format) === 'pretty' ? pino(options, prettyStream()) : pino(options);
}

/**
 * Sends what libraries print with console.* to the structured log instead
 * of stdout. libsignal prints whole Signal sessions (private keys included)
 * when it closes one, so only a leading text survives, never the objects.
 */
export function captureConsole(logger: Logger): void {
  const text = (args: unknown[]) => (typeof args[0] === 'string' ? args[0] : '(non-text console output omitted)');
  const to =
    (level: 'debug' | 'warn') =>
    (...args: unknown[]) =>
      logger[level]({ source: 'console' }, text(args));
  console.log = to('debug');
  console.info = to('debug');
  console.debug = to('debug');
  console.warn = to('warn');
  console.error = to('warn');
}
