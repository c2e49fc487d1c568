/**
 * - `parse`: an event's data was not valid JSON (the event is skipped, the stream continues);
 * - `handler`: one of your callbacks threw (the stream continues);
 * - `connection`: the EventSource failed for good (HTTP 401/429/503..., or a network failure
 *   it gave up on); the client recovers with backoff;
 * - `token`: `getToken()` / `getTicket()` rejected or returned something unusable, or
 *   `fetchSseTicket()` got no ticket (`httpStatus` says what the server answered);
 * - `gave-up`: no more recoveries; the status is `error` and `cause` holds the last failure;
 * - `unsupported`: no EventSource implementation is available.
 */
export type SseErrorCode = 'parse' | 'handler' | 'connection' | 'token' | 'gave-up' | 'unsupported';

export interface SseClientErrorDetails {
  /** The SSE event type, for `parse` and `handler` errors. */
  eventType?: string;
  /** The HTTP status, when the EventSource implementation reports it (the browser's does not). */
  httpStatus?: number;
  cause?: unknown;
}

/** Every error the client reports through `onError`; it never throws them at you. */
export class SseClientError extends Error {
  override readonly name = 'SseClientError';
  readonly code: SseErrorCode;
  readonly eventType?: string;
  readonly httpStatus?: number;

  constructor(code: SseErrorCode, message: string, details: SseClientErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    if (details.eventType !== undefined) this.eventType = details.eventType;
    if (details.httpStatus !== undefined) this.httpStatus = details.httpStatus;
  }
}
