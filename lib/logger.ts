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
