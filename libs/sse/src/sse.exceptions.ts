import type { SseAuthFailureReason } from '@nest-sse/protocol';
import { HttpException, HttpStatus, UnauthorizedException } from '@nestjs/common';

/**
 * A publish call was given something that must not reach the wire; nothing was sent.
 *
 * @publicApi
 */
export class SseEventError extends Error {
  override readonly name = 'SseEventError';
}

/**
 * A request without a credential the module accepts: a 401 with a JSON body
 * `{ statusCode: 401, error: 'Unauthorized', message, reason }`, where `reason`
 * is its category (`SSE_AUTH_FAILURE_REASONS`: `missing`, `malformed`, `invalid`,
 * `expired`, `not-yet-valid`, `revoked`, `ticket`), also sent as the
 * `SSE-Auth-Reason` header by the module's guards (a `HEAD` has no body).
 * The message is one fixed text per kind; neither ever holds the token.
 *
 * @publicApi
 */
export class SseUnauthorizedError extends UnauthorizedException {
  constructor(
    message: string,
    readonly reason: SseAuthFailureReason,
  ) {
    super({ statusCode: 401, error: 'Unauthorized', message, reason });
  }
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
 * Too many stream tickets are outstanding: the user's own (429) or the server's (503).
 *
 * @deprecated The module no longer throws it: a ticket request is never refused
 * for room, since a refusal let a few hundred accounts lock every other user out.
 * Past `tickets.maxPerUser` a user's new ticket replaces its oldest, and past
 * `tickets.maxOutstanding` the oldest ticket of a user holding the most. Kept so
 * that code importing it still compiles.
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

/**
 * A stream asked for topics it may not subscribe to: no `@SseTopic()`
 * declaration matches them, or their policy refused (or threw). Answered 403
 * with a JSON body naming them, before any byte; the whole connect is refused.
 *
 * @publicApi
 */
export class SseTopicForbiddenError extends HttpException {
  constructor(readonly topics: readonly string[]) {
    const message = `Not allowed to subscribe to: ${topics.join(', ')}`;
    super({ statusCode: 403, error: 'Forbidden', message, topics }, HttpStatus.FORBIDDEN);
  }
}

/**
 * The `topic` query parameters break the topic rules (a bad name, too many).
 * Answered 400 with a JSON body saying why, before any byte.
 *
 * @publicApi
 */
export class SseTopicInvalidError extends HttpException {
  constructor(readonly reason: string) {
    super({ statusCode: 400, error: 'Bad Request', message: reason }, HttpStatus.BAD_REQUEST);
  }
}

/**
 * The transport could not take a published event (a cluster transport whose
 * connection is down and whose buffer is full): nothing was sent, and the
 * caller decides whether to retry.
 *
 * @publicApi
 */
export class SseTransportError extends Error {
  override readonly name = 'SseTransportError';
}

/**
 * The cluster's stream slots could not be checked (a cluster transport whose
 * store is unreachable): no stream opens, since the per-user limit could not
 * hold. Answered 503 with a JSON body before any byte; the client retries.
 *
 * @publicApi
 */
export class SsePresenceUnavailableError extends HttpException {
  constructor() {
    const message = 'Stream slots cannot be checked right now: reconnect later';
    super({ statusCode: 503, error: 'Service Unavailable', message }, HttpStatus.SERVICE_UNAVAILABLE);
  }
}

/**
 * The ticket store could not be reached (a shared store whose Redis is down):
 * no ticket was issued, or the ticket could not be checked (it is not spent
 * unless the store said so). Answered 503 with a JSON body before any byte;
 * the client asks again (`SseClient` does, after its backoff).
 *
 * @publicApi
 */
export class SseTicketsUnavailableError extends HttpException {
  constructor() {
    const message = 'Stream tickets cannot be issued or checked right now: retry later';
    super({ statusCode: 503, error: 'Service Unavailable', message }, HttpStatus.SERVICE_UNAVAILABLE);
  }
}
