import type { ErrorCode } from './errorCodes.js';

/**
 * Errors that carry their HTTP status. Handlers throw these; one Express error
 * handler turns them into `{ "error": message, "code": CODE }`; every CODE is
 * one of lib/errorCodes.ts, so a code that is not catalogued does not compile.
 */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

export class BadRequest extends HttpError {
  constructor(message: string, code: ErrorCode = 'BAD_REQUEST') {
    super(400, code, message);
  }
}
export class Unauthorized extends HttpError {
  constructor(message = 'missing or invalid API token') {
    super(401, 'UNAUTHORIZED', message);
  }
}
export class Forbidden extends HttpError {
  constructor(message: string, code: ErrorCode = 'FORBIDDEN') {
    super(403, code, message);
  }
}
export class NotFound extends HttpError {
  constructor(message: string, code: ErrorCode = 'NOT_FOUND') {
    super(404, code, message);
  }
}
export class Conflict extends HttpError {
  constructor(message: string, code: ErrorCode = 'CONFLICT') {
    super(409, code, message);
  }
}
export class Gone extends HttpError {
  constructor(message: string, code: ErrorCode) {
    super(410, code, message);
  }
}
export class UpgradeRequired extends HttpError {
  constructor(message: string) {
    super(426, 'UPGRADE_REQUIRED', message);
  }
}
export class PayloadTooLarge extends HttpError {
  constructor(message = 'request body too large') {
    super(413, 'PAYLOAD_TOO_LARGE', message);
  }
}
export class TooManyRequests extends HttpError {
  constructor(readonly retryAfterSeconds: number) {
    super(429, 'RATE_LIMITED', `rate limit exceeded, retry in ${retryAfterSeconds} s`);
  }
}
export class Unavailable extends HttpError {
  constructor(message: string, code: ErrorCode = 'UNAVAILABLE') {
    super(503, code, message);
  }
}
