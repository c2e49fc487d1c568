import { Controller, Header, HttpCode, HttpStatus, Post, Req, type Type, UseGuards } from '@nestjs/common';
import type { Observable } from 'rxjs';

import { SSE_USER_KEY, type SseUser } from './auth/sse-user.js';
import { SseRoute } from './http/sse-route.decorator.js';
import { SseStreamFactory } from './streams/sse-stream.factory.js';
import { SSE_TOPICS_KEY, SseTicketGuard } from './tickets/sse-ticket.guard.js';
import { SseTicketService } from './tickets/sse-ticket.service.js';
import type { SseIssuedTicket } from './tickets/sse-ticket-store.interface.js';
import type { SseFrame } from './wire/sse-frame.js';

/** Express's request or Fastify's: both carry headers, the parsed query and what the guard left. */
interface StreamRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
  [SSE_USER_KEY]: SseUser;
  [SSE_TOPICS_KEY]?: readonly string[];
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
      private readonly tickets: SseTicketService,
    ) {}

    @SseRoute(path, { maxPendingDataLength })
    events(@Req() request: StreamRequest): Observable<SseFrame> | Promise<Observable<SseFrame>> {
      // Resumes from the request, and is shared for `?shared=1` (checked by the guard), by the
      // rules own routes get too (`readLastEventId`: header, then query; `readSharedParam`).
      return this.streams.open(request[SSE_USER_KEY], { topics: request[SSE_TOPICS_KEY], request });
    }

    /** A ticket for one `GET ?ticket=`; never cached, by the browser or anything between. */
    @Post(path)
    @HttpCode(HttpStatus.OK)
    @Header('Cache-Control', 'no-store')
    ticket(@Req() request: StreamRequest): Promise<SseIssuedTicket> {
      return this.tickets.issue(request, { topics: request[SSE_TOPICS_KEY] });
    }
  }
  return SseController;
}
