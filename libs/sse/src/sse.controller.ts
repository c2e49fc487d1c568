import { Controller, Get, Req, Res, type Type, UseGuards } from '@nestjs/common';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { SseAuthGuard } from './sse-auth.guard.js';
import { pipeSseStream } from './sse-response.sink.js';
import { SseStreamFactory } from './sse-stream.factory.js';
import { SSE_USER_KEY, type SseUser } from './sse-user.js';

type StreamRequest = IncomingMessage & {
  query?: Record<string, unknown>;
  [SSE_USER_KEY]: SseUser;
};

/**
 * The stream route: the guard authenticates, the handler takes a slot (or
 * throws 429 for the exception filters), and the sink writes the connection's
 * Observable to the socket. A plain `@Get()` with the module's own sink rather
 * than `@Sse()`: see `sse-response.sink.ts` for why. Interceptors run around
 * the handler, which returns once the stream is set up.
 */
export function createSseController(path: string, maxPendingDataLength: number): Type<unknown> {
  @Controller()
  @UseGuards(SseAuthGuard)
  class SseController {
    constructor(private readonly streams: SseStreamFactory) {}

    @Get(path)
    events(@Req() request: StreamRequest, @Res() response: ServerResponse): void {
      // Over the limit this throws SseConnectionLimitError, a 429 for the exception filters.
      const frames = this.streams.create(request[SSE_USER_KEY], { lastEventId: readLastEventId(request) });
      pipeSseStream(frames, request, response, { maxPendingDataLength });
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
