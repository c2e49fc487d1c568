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
import { assertEventId } from './sse-event.js';
import { SseStreamFactory } from './sse-stream.factory.js';
import { SSE_USER_KEY, type SseUser } from './sse-user.js';

type StreamRequest = IncomingMessage & {
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

function readLastEventId(request: IncomingMessage): string | undefined {
  const header = request.headers['last-event-id'];
  if (typeof header !== 'string' || header.length === 0) return undefined;
  try {
    assertEventId(header);
    return header;
  } catch {
    return undefined;
  }
}
