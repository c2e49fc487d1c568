import { HttpException, HttpStatus } from '@nestjs/common';

/**
 * A publish call was given something that must not reach the wire; nothing was sent.
 *
 * @publicApi
 */
export class SseEventError extends Error {
  override readonly name = 'SseEventError';
}

/**
 * A user already has `maxConnectionsPerUser` open streams. An HttpException,
 * so any route (the module's, or your own `@Sse()` handler) answers 429 with a
 * JSON body before any stream byte.
 *
 * @publicApi
 */
export class SseConnectionLimitError extends HttpException {
  constructor(readonly limit: number) {
    const message = `Connection limit reached: at most ${limit} concurrent event streams per user`;
    super({ statusCode: 429, error: 'Too Many Requests', message, limit }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/**
 * The server is shutting down: no new stream opens. An HttpException answered
 * 503 with a JSON body before any byte; `@SseRoute()` routes (the module's
 * included) also send `Retry-After: retryAfterSec`, jittered like the `retry:`
 * hint of the streams ended at shutdown.
 *
 * @publicApi
 */
export class SseShuttingDownError extends HttpException {
  constructor(readonly retryAfterSec: number) {
    const message = 'The server is shutting down: reconnect later';
    super(
      { statusCode: 503, error: 'Service Unavailable', message, retryAfter: retryAfterSec },
      HttpStatus.SERVICE_UNAVAILABLE,
    );
  }
}

/**
 * Too many stream tickets are outstanding (issued, not yet redeemed or expired):
 * the user's own (`tickets.maxPerUser`, 429) or the server's (`tickets.maxOutstanding`,
 * 503). Answered as JSON before any ticket is issued; a client retries with backoff.
 *
 * @publicApi
 */
export class SseTicketLimitError extends HttpException {
  constructor(
    readonly scope: 'user' | 'server',
    readonly limit: number,
  ) {
    const status = scope === 'user' ? HttpStatus.TOO_MANY_REQUESTS : HttpStatus.SERVICE_UNAVAILABLE;
    const error = scope === 'user' ? 'Too Many Requests' : 'Service Unavailable';
    const message =
      scope === 'user'
        ? `Ticket limit reached: at most ${limit} outstanding stream tickets per user`
        : 'Ticket limit reached: too many outstanding stream tickets, retry later';
    super({ statusCode: status, error, message, limit }, status);
  }
}
