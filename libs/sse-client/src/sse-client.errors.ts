/**
 * - `parse`: an event's data was not valid JSON (the event is skipped, the stream continues);
 * - `handler`: one of your callbacks threw (the stream continues);
 * - `connection`: the EventSource failed for good (HTTP 401/429/503..., or a network failure
 *   it gave up on); the client recovers with backoff;
 * - `token`: `getToken()` / `getTicket()` rejected or returned something unusable, or
 *   `fetchSseTicket()` got no ticket (`httpStatus` says what the server answered);
 * - `gave-up`: no more recoveries; the status is `error` and `cause` holds the last failure;
 * - `unauthorized`: `maxAuthFailures` consecutive authentication failures (HTTP 401); the status
 *   is `unauthorized`, `reason` the server's category when it said, `cause` the last failure;
 * - `unsupported`: no EventSource implementation is available.
 */
export type SseErrorCode = 'parse' | 'handler' | 'connection' | 'token' | 'gave-up' | 'unauthorized' | 'unsupported';

export interface SseClientErrorDetails {
  /** The SSE event type, for `parse` and `handler` errors. */
  eventType?: string;
  /** The HTTP status, when the EventSource implementation reports it (the browser's does not). */
  httpStatus?: number;
  /** For a 401: the server's category of it (`SSE_AUTH_FAILURE_REASONS`), when it said. */
  reason?: string;
  cause?: unknown;
}

/** Every error the client reports through `onError`; it never throws them at you. */
export class SseClientError extends Error {
  override readonly name = 'SseClientError';
  readonly code: SseErrorCode;
  readonly eventType?: string;
  readonly httpStatus?: number;
  /**
   * Why the server refused the credential (HTTP 401), when it said: one of the server's
   * `SSE_AUTH_FAILURE_REASONS` (`missing`, `malformed`, `invalid`, `expired`, `not-yet-valid`,
   * `revoked`, `ticket`), or another short name a newer server may send. Never the token.
   */
  readonly reason?: string;

  constructor(code: SseErrorCode, message: string, details: SseClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.eventType !== undefined) this.eventType = details.eventType;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
    if (details.reason !== undefined) this.reason = details.reason;
  }
}

/** What a server's 401 category may look like (`SSE_AUTH_FAILURE_REASONS`, or a newer server's): a short lowercase name. */
const AUTH_REASON_PATTERN = /^[a-z][a-z0-9-]{0,31}$/;

/** A 401's category as the server gave it (body `reason`, or the `SSE-Auth-Reason` header), or `undefined`. */
export function readAuthReason(value: unknown): string | undefined {
  return typeof value === 'string' && AUTH_REASON_PATTERN.test(value) ? value : undefined;
}
