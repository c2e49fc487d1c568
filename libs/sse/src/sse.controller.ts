import {
  Controller,
  HttpException,
  HttpStatus,
  type MessageEvent,
  type Type,
  Req,
  Sse,
  UseGuards,
} from '@nestjs/common';
import type { IncomingMessage } from 'node:http';
import type { Observable } from 'rxjs';
import { SseAuthGuard } from './sse-auth.guard.js';
import { SseConnectionLimitError } from './sse-connection.registry.js';
import { SseStreamFactory } from './sse-stream.factory.js';
import { SSE_USER_KEY, type SseUser } from './sse-user.js';

type StreamRequest = IncomingMessage & {
  query?: Record<string, unknown>;
  [SSE_USER_KEY]: SseUser;
  res?: { once(event: 'close', listener: () => void): unknown };
};

/**
 * The stream route: the guard authenticates, the handler takes a slot (or
 * answers 429), and Nest's `@Sse()` pipeline writes the Observable to the socket.
 * Returning an Observable keeps guards, interceptors and exception filters working.
 */
export function createSseController(path: string, maxPendingDataLength: number): Type<unknown> {
  @Controller()
  @UseGuards(SseAuthGuard)
  class SseController {
    constructor(private readonly streams: SseStreamFactory) {}

    @Sse(path, { maxPendingDataLength })
    events(@Req() request: StreamRequest): Observable<MessageEvent> {
      const closeSource = request.res ?? request.socket;
      try {
        return this.streams.open(request[SSE_USER_KEY], {
          lastEventId: readLastEventId(request),
          onRequestClosed: (release) => closeSource.once('close', release),
        });
      } catch (err) {
        if (err instanceof SseConnectionLimitError) {
          throw new HttpException(
            { statusCode: 429, error: 'Too Many Requests', message: err.message, limit: err.limit },
            HttpStatus.TOO_MANY_REQUESTS,
          );
        }
        throw err;
      }
    }
  }
  return SseController;
}

/**
 * The header wins: an EventSource that reconnects by itself sends the newest id
 * there, while its URL keeps the `lastEventId` it was first opened with (the
 * query parameter is for a fresh EventSource after a reload). Checked later.
 */
function readLastEventId(request: StreamRequest): string | undefined {
  const header = request.headers['last-event-id'];
  if (typeof header === 'string' && header.length > 0) return header;
  const query = request.query?.lastEventId;
  if (query === undefined) return undefined;
  // A repeated parameter arrives as an array: not an id.
  return typeof query === 'string' ? query : '\u0000';
}
