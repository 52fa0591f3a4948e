import { pino, type Logger } from 'pino';

export type { Logger };

/** Removes credentials from a URL's query string before it is logged. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|api_key|apikey)=)[^&#]*/gi, '$1[REDACTED]');
}

export function createLogger(level: string, name: string): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: ['req.headers.authorization', 'req.headers["x-api-key"]', 'req.headers.cookie', '*.token', '*.apiToken'],
      censor: '[REDACTED]',
    },
  });
}

/**
 * Sends what libraries print with console.* to the structured log instead
 * of stdout. libsignal prints whole Signal sessions (private keys included)
 * when it closes one, so only a leading text survives, never the objects.
 */
export function captureConsole(logger: Logger): void {
  const text = (args: unknown[]) => (typeof args[0] === 'string' ? args[0] : '(non-text console output omitted)');
  const to = (level: 'debug' | 'warn') => (...args: unknown[]) => logger[level]({ source: 'console' }, text(args));
  console.log = to('debug');
  console.info = to('debug');
  console.debug = to('debug');
  console.warn = to('warn');
  console.error = to('warn');
}
