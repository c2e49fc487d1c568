import { Controller, Get, Req, Res, type Type, UseGuards } from '@nestjs/common';
import { SseAuthGuard } from './sse-auth.guard.js';
import { takeOverResponse } from './sse-platform.adapter.js';
import { pipeSseStream } from './sse-response.sink.js';
import { SseStreamFactory } from './sse-stream.factory.js';
import { SSE_USER_KEY, type SseUser } from './sse-user.js';

/** Express's request or Fastify's: both carry headers, the parsed query and what the guard left. */
interface StreamRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
  [SSE_USER_KEY]: SseUser;
}

/**
 * The stream route: the guard authenticates, the handler takes a slot (or
 * throws 429 for the exception filters), and the sink writes the connection's
 * Observable to the client. A plain `@Get()` with the module's own sink rather
 * than `@Sse()`: see `sse-response.sink.ts` for why. Interceptors run around
 * the handler, which returns once the stream is set up. Works on Express and
 * Fastify (HTTP/1.1 and HTTP/2).
 */
export function createSseController(path: string, maxPendingDataLength: number): Type<unknown> {
  @Controller()
  @UseGuards(SseAuthGuard)
  class SseController {
    constructor(private readonly streams: SseStreamFactory) {}

    @Get(path)
    events(@Req() request: StreamRequest, @Res() response: object): void {
      // Over the limit this throws SseConnectionLimitError, a 429 for the exception filters,
      // so the response is taken over from the platform only after it.
      const frames = this.streams.create(request[SSE_USER_KEY], { lastEventId: readLastEventId(request) });
      const raw = takeOverResponse(request, response);
      pipeSseStream(frames, raw.request, raw.response, { maxPendingDataLength });
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
