import { Controller, Header, HttpCode, HttpStatus, Post, Req, type Type, UseGuards } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { SseFrame } from './sse-frame.js';
import { SseRoute } from './sse-route.decorator.js';
import { SseStreamFactory } from './sse-stream.factory.js';
import { SSE_SHARED_KEY, SSE_TICKET_CLAIMS_KEY, SSE_TOPICS_KEY, SseTicketGuard } from './sse-ticket.guard.js';
import { type SseIssuedTicket, SseTicketStore } from './sse-ticket.store.js';
import type { SseTokenClaims } from './sse-token.verifier.js';
import { SSE_USER_KEY, type SseUser } from './sse-user.js';

/** Express's request or Fastify's: both carry headers, the parsed query and what the guard left. */
interface StreamRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
  [SSE_USER_KEY]: SseUser;
  [SSE_TICKET_CLAIMS_KEY]?: SseTokenClaims;
  [SSE_TOPICS_KEY]?: readonly string[];
  [SSE_SHARED_KEY]?: boolean;
}

/**
 * The stream route, built on `@SseRoute()` like an app's own: the guard
 * authenticates, the handler returns the user's stream (throwing
 * `SseConnectionLimitError`, a 429 for the exception filters, when the user has
 * no free slot), and the module's sink writes it, on Express or Fastify, over
 * HTTP/1.1 or HTTP/2.
 *
 * Beside it, at the same path, `POST` issues a stream ticket (see
 * `SseTicketGuard`): the same path, so the global prefix, the CORS middleware
 * and `route: false` apply to both without a second path to keep in step, and
 * nothing new can collide with an app's routes under it.
 */
export function createSseController(path: string, maxPendingDataLength: number): Type<unknown> {
  @Controller()
  @UseGuards(SseTicketGuard)
  class SseController {
    constructor(
      private readonly streams: SseStreamFactory,
      private readonly tickets: SseTicketStore,
    ) {}

    @SseRoute(path, { maxPendingDataLength })
    events(@Req() request: StreamRequest): Observable<SseFrame> | Promise<Observable<SseFrame>> {
      return this.streams.open(request[SSE_USER_KEY], {
        lastEventId: readLastEventId(request),
        topics: request[SSE_TOPICS_KEY],
        request,
        shared: request[SSE_SHARED_KEY],
      });
    }

    /** A ticket for one `GET ?ticket=`; never cached, by the browser or anything between. */
    @Post(path)
    @HttpCode(HttpStatus.OK)
    @Header('Cache-Control', 'no-store')
    ticket(@Req() request: StreamRequest): SseIssuedTicket {
      const claims = request[SSE_TICKET_CLAIMS_KEY];
      if (claims === undefined) throw new Error('SseController: the ticket route ran without its guard');
      return this.tickets.issue({ user: request[SSE_USER_KEY], claims, scope: path, topics: request[SSE_TOPICS_KEY] ?? [] });
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
