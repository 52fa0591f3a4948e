/**
 * Log lines for people: `HH:MM:SS LEVEL name: message key=value ...`, in
 * color on a terminal. pino writes each record into `prettyStream` as a JSON
 * line, which is turned into one line (an error's stack goes below it).
 * Machines read the JSON lines (LOG_FORMAT=json, and by default when the
 * output is not a terminal).
 */

export type LogFormat = 'json' | 'pretty';

const LEVELS: Record<number, { name: string; color: string }> = {
  10: { name: 'TRACE', color: '90' },
  20: { name: 'DEBUG', color: '90' },
  30: { name: 'INFO ', color: '32' },
  40: { name: 'WARN ', color: '33' },
  50: { name: 'ERROR', color: '31' },
  60: { name: 'FATAL', color: '31;1' },
};

/** What every line shows in its own place, or never (pino's process fields). */
const SHOWN_APART = new Set(['level', 'time', 'msg', 'name', 'module', 'pid', 'hostname', 'v']);
const LONGEST_VALUE = 300;

/** The format a process logs in: the setting, else pretty on a terminal and JSON otherwise. */
export function logFormat(setting: LogFormat | undefined, out: { isTTY?: boolean } = process.stdout): LogFormat {
  return setting ?? (out.isTTY ? 'pretty' : 'json');
}

/** A pino destination that writes each record to `out` as a readable line; colored when `out` is a terminal. */
export function prettyStream(out: NodeJS.WritableStream & { isTTY?: boolean } = process.stdout, color = !!out.isTTY) {
  return {
    write(line: string): void {
      let record: Record<string, unknown>;
      try {
        record = JSON.parse(line) as Record<string, unknown>;
      } catch {
        out.write(line);
        return;
      }
      out.write(`${formatRecord(record, color)}\n`);
    },
  };
}

/** One pino record as a line of text (and, at error level, the stack of its `err` below). */
export function formatRecord(record: Record<string, unknown>, color = false): string {
  const paint = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const level = LEVELS[record.level as number] ?? { name: String(record.level).padEnd(5), color: '0' };
  const who = [record.name, record.module].filter((part) => typeof part === 'string' && part).join('/');
  const fields = { ...record };
  let message = typeof record.msg === 'string' ? record.msg : '';
  const request = requestLine(record);
  if (request) {
    message = request;
    delete fields.req;
    delete fields.res;
    delete fields.responseTime;
  }
  const pairs = Object.entries(fields)
    .filter(([key, value]) => !SHOWN_APART.has(key) && value !== undefined)
    .map(([key, value]) => `${paint('2', `${key}=`)}${inline(key === 'err' ? errorText(value) : value)}`);
  const line = [
    paint('2', clock(record.time)),
    paint(level.color, level.name),
    who ? `${paint('1', who)}: ${message}` : message,
    ...pairs,
  ].join(' ');
  const stack = (record.level as number) >= 50 ? stackOf(record.err) : undefined;
  return stack ? `${line}\n${paint('2', indent(stack))}` : line;
}

/** The request log's record (api/middleware/requestLog.ts) as `GET /path 200 12 ms`. */
function requestLine(record: Record<string, unknown>): string | undefined {
  const req = record.req as { method?: string; url?: string } | undefined;
  const res = record.res as { statusCode?: number } | undefined;
  if (record.msg !== 'request completed' || !req?.method || !res) return undefined;
  const took = typeof record.responseTime === 'number' ? ` ${record.responseTime} ms` : '';
  return `${req.method} ${req.url ?? ''} ${res.statusCode ?? ''}${took}`;
}

function clock(time: unknown): string {
  const at = new Date(typeof time === 'number' ? time : Date.now());
  return [at.getHours(), at.getMinutes(), at.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** A value on the line: bare when it has no spaces or quotes, else quoted or as JSON; first line only, cut short. */
function inline(value: unknown): string {
  let text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  const newline = text.indexOf('\n');
  if (newline >= 0) text = `${text.slice(0, newline)} …`;
  if (text.length > LONGEST_VALUE) text = `${text.slice(0, LONGEST_VALUE)}…`;
  if (typeof value === 'string' && (text === '' || /[\s"=]/.test(text))) return JSON.stringify(text);
  return text;
}

/** pino's serialized error, `{ type, message, stack }`, by its message. */
function errorText(err: unknown): unknown {
  if (err && typeof err === 'object' && typeof (err as { message?: unknown }).message === 'string')
    return (err as { message: string }).message;
  return err;
}

function stackOf(err: unknown): string | undefined {
  const stack = err && typeof err === 'object' ? (err as { stack?: unknown }).stack : undefined;
  return typeof stack === 'string' ? stack : undefined;
}

const indent = (text: string) =>
  text
    .split('\n')
    .map((line) => `    ${line.trim()}`)
    .join('\n');
