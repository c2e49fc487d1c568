import { checkTopics, readSharedParam } from '@nest-sse/protocol';
import { BadRequestException, type ExecutionContext, Injectable } from '@nestjs/common';

import { readBearer, SSE_REDEEM_TICKET, SseAuthGuard, type SseAuthRequest } from '../auth/sse-auth.guard.js';
import { exposeAuthReason } from '../auth/sse-auth-reason.header.js';
import { SseTokenVerifier } from '../auth/sse-token.verifier.js';
import { SSE_USER_KEY, type SseUser } from '../auth/sse-user.js';
import { type SseRefusalReason, SseStatsCollector } from '../observe/sse-stats.collector.js';
import { SseTopicInvalidError, SseUnauthorizedError } from '../sse.exceptions.js';
import { SseTopicAuthorizer } from '../topics/sse-topic.authorizer.js';

/** Where the guard leaves the checked, authorised topics of the request (a stream's, or a ticket's). */
export const SSE_TOPICS_KEY = Symbol('sseTopics');

const REFUSAL_BY_STATUS: Partial<Record<number, SseRefusalReason>> = {
  400: 'bad_request',
  401: 'unauthorized',
  403: 'forbidden',
};

interface TicketRequest extends SseAuthRequest {
  [SSE_TOPICS_KEY]?: readonly string[];
}

/**
 * The module's own route guard: `SseAuthGuard` plus stream tickets and topics.
 *
 * - `POST <path>` (asking for a ticket) takes the token from `Authorization: Bearer`
 *   only: a ticket exists to keep tokens out of URLs, so a `?token=` there is
 *   ignored, and a ticket never buys another one.
 * - `GET <path>?ticket=` redeems a ticket issued by this module, once, on any
 *   instance sharing the ticket store (`SseTicketService`); when the
 *   parameter is present it is the only credential looked at. A `HEAD` checks the
 *   ticket the same way (same answer) without spending it. The stream then
 *   ends when the token behind the ticket expires, and `jwt.isRevoked` is asked
 *   again, since the ticket may be redeemed up to `tickets.ttlMs` after its token
 *   was checked.
 * - Anything else (`?token=`, Bearer on a GET) is `SseAuthGuard`'s.
 * - Topics: repeated `?topic=` on the GET, or on the POST, which binds them into
 *   the ticket (a GET with a ticket takes its topics from it, and refuses
 *   `?topic=` beside it). Bad names are a 400 before anything else is looked at;
 *   each connect (ticket or not) asks `SseTopicAuthorizer`: a 403 for any refused.
 * - `shared=1` on the GET (with a ticket or not) asks for a shared stream (topic
 *   events tagged, the opening a `connected` event);
 *   any other value, or the parameter repeated, is a 400 before anything else is
 *   looked at. The POST does not read it: a ticket does not carry it. The guard only
 *   checks it (`readSharedParam`, the rule own routes get too): the stream reads it
 *   from the request, as `SseService.stream()` / `openStream()` do on an app's route.
 */
@Injectable()
export class SseTicketGuard extends SseAuthGuard {
  constructor(
    verifier: SseTokenVerifier,
    private readonly topics: SseTopicAuthorizer,
    private readonly stats: SseStatsCollector,
  ) {
    super(verifier);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<TicketRequest>();
    try {
      return await this.admit(request, context);
    } catch (err) {
      // A stream refused before any byte, counted by why (a ticket request is not a stream).
      const reason =
        request.method === 'POST'
          ? undefined
          : REFUSAL_BY_STATUS[(err as { getStatus?: () => number })?.getStatus?.() ?? 0];
      if (reason) this.stats.refused[reason]++;
      exposeAuthReason(context, err);
      throw err;
    }
  }

  private async admit(request: TicketRequest, context: ExecutionContext): Promise<boolean> {
    const query = request.query;
    const asked = readTopics(query?.topic);
    const asksForTicket = request.method === 'POST';
    if (!asksForTicket) checkShared(request);
    // With a Bearer header, SseAuthGuard reads the token from it and never from the query.
    if (asksForTicket && !readBearer(request))
      throw new SseUnauthorizedError('Missing token: pass Authorization: Bearer', 'missing');
    // A ticket never buys another: the POST looks at no ?ticket=.
    const ticket = asksForTicket ? undefined : query?.ticket;
    if (ticket === undefined) {
      await super.canActivate(context);
      return this.subscribe(request, request[SSE_USER_KEY]!, asked);
    }
    if (asked.length > 0) {
      throw new SseTopicInvalidError(
        'A ticket carries its topics: pass topic= when asking for the ticket, not beside it',
      );
    }
    // A HEAD opens no stream, so it spends none: it checks the ticket as its GET would
    // (the client's probe after a refusal, a link checker), and the GET still opens.
    const { topics } = await this[SSE_REDEEM_TICKET](request, ticket, { acceptTopics: true });
    return this.subscribe(request, request[SSE_USER_KEY]!, topics);
  }

  /** Authorises the topics (again, for a ticket: its user may have lost access since) and leaves them for the handler. */
  private async subscribe(request: TicketRequest, user: SseUser, topics: readonly string[]): Promise<true> {
    await this.topics.authorize(user, topics);
    request[SSE_TOPICS_KEY] = topics;
    return true;
  }
}

/** The `shared` query parameter: a 400 (Nest's own, not a topic's) for anything but absent or `1`. */
function checkShared(request: object): void {
  const flag = readSharedParam(request);
  if (typeof flag === 'string') throw new BadRequestException(flag);
}

/** The `topic` query parameter (absent, once, or repeated) as checked topics; a 400 when they break the rules. */
function readTopics(value: unknown): readonly string[] {
  if (value === undefined) return [];
  const listed = typeof value === 'string' ? [value] : Array.isArray(value) ? value : undefined;
  const checked = listed === undefined ? 'topic must be a query parameter of plain text' : checkTopics(listed);
  if (typeof checked === 'string') throw new SseTopicInvalidError(checked);
  return checked;
}
