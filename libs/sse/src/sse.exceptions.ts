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
