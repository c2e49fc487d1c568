import { checkTopics } from '@nest-sse/protocol';
import { Inject, Injectable, Logger } from '@nestjs/common';

import type { SseAuthRequest } from '../auth/sse-auth.guard.js';
import { type SseTokenClaims, SseTokenVerifier } from '../auth/sse-token.verifier.js';
import { SSE_CLAIMS_KEY, SSE_USER_KEY } from '../auth/sse-user.js';
import {
  SseTicketsUnavailableError,
  SseTopicInvalidError,
  SseTransportError,
  SseUnauthorizedError,
} from '../sse.exceptions.js';
import { SSE_TICKET_SCOPE, SSE_TICKET_STORE } from '../sse.tokens.js';
import type { SseIssuedTicket, SseTicketGrant, SseTicketStore } from './sse-ticket-store.interface.js';

/** One message for every ticket that cannot be used: a client learns nothing by probing. */
export const INVALID_TICKET = 'Invalid ticket: unknown, expired or already used';

/** A request `SseAuthGuard` authenticated, with the claims it left. */
interface AuthenticatedRequest extends SseAuthRequest {
  [SSE_CLAIMS_KEY]?: SseTokenClaims;
}

/**
 * Stream tickets: issues them for a request the guard authenticated with a
 * token, and redeems them for the guards (the module's route and
 * `SseAuthGuard` on an app's own routes). Whatever store holds them (memory, a
 * transport's shared store, `tickets.store`), this is where their rules sit:
 * one scope (the module's path), a 401 for any ticket that cannot be used, the
 * token's expiry and `jwt.isRevoked` asked again at redemption, and a 503
 * (`SseTicketsUnavailableError`) while the store cannot be reached.
 *
 * The module's `POST <path>` uses it; an app with `route: false` (or one that
 * wants its own ticket route) issues tickets from its own `POST`:
 *
 * ```ts
 * @Post('jobs/stream-ticket')
 * @HttpCode(200)
 * @Header('Cache-Control', 'no-store')
 * @UseGuards(SseAuthGuard) // the token in Authorization: Bearer
 * ticket(@Req() request: SseAuthRequest) {
 *   return this.tickets.issue(request); // { ticket, expiresInMs }
 * }
 * ```
 *
 * @publicApi
 */
@Injectable()
export class SseTicketService {
  private readonly logger = new Logger('SseTickets');
  /** Whether the last store call failed for its backend: one warning per outage, not one per request. */
  private unavailable = false;

  constructor(
    @Inject(SSE_TICKET_STORE) private readonly store: SseTicketStore,
    @Inject(SSE_TICKET_SCOPE) private readonly scope: string,
    private readonly verifier: SseTokenVerifier,
  ) {}

  /**
   * A new single-use ticket for the user `SseAuthGuard` (or a subclass)
   * authenticated on `request` with a token: it opens one stream on any route
   * guarded by `SseAuthGuard` (`GET ...?ticket=`) and on the module's route,
   * within `tickets.ttlMs`. With `topics` (checked by the wire rules; authorise
   * them first with `SseTopicAuthorizer`) it opens the module's route only,
   * subscribed to them. A 503 while the store cannot be reached.
   */
  async issue(request: SseAuthRequest, options: { topics?: readonly string[] } = {}): Promise<SseIssuedTicket> {
    const user = request[SSE_USER_KEY];
    const claims = (request as AuthenticatedRequest)[SSE_CLAIMS_KEY];
    if (user === undefined || claims === undefined) {
      throw new Error(
        'SseTicketService.issue: the request was not authenticated with a token by SseAuthGuard (put @UseGuards(SseAuthGuard) on the route)',
      );
    }
    const topics = checkTopics(options.topics ?? []);
    if (typeof topics === 'string') throw new SseTopicInvalidError(topics);
    return this.ask(() => this.store.issue({ user, claims, scope: this.scope, topics }));
  }

  /**
   * The grant of a ticket, spent (a `HEAD` only looks: `peek`), or a 401 for a
   * ticket that cannot be used (unknown, used, replaced, expired, another
   * module's, not one string), whose token expired or was revoked since it
   * was issued, or that is bound to topics (`POST <path>?topic=`) unless
   * `acceptTopics` (the module's route, which subscribes them; a route that
   * picks its topics itself refuses them, spent); a 503 while the store cannot
   * be reached. The guards' one path to tickets (`SseAuthGuard`).
   */
  async redeem(
    ticket: unknown,
    request: { method?: string },
    options: { acceptTopics?: boolean } = {},
  ): Promise<SseTicketGrant> {
    // A repeated parameter arrives as an array: not a ticket.
    const grant =
      typeof ticket !== 'string'
        ? undefined
        : await this.ask(() =>
            request.method === 'HEAD' ? this.store.peek(ticket, this.scope) : this.store.redeem(ticket, this.scope),
          );
    if (!grant) throw new SseUnauthorizedError(INVALID_TICKET, 'ticket');
    if (grant.topics.length > 0 && !options.acceptTopics) {
      throw new SseUnauthorizedError(
        "Invalid ticket: bound to topics, it opens the module's stream route only",
        'ticket',
      );
    }
    this.verifier.assertNotExpired(grant.user);
    await this.verifier.assertNotRevoked(grant.claims);
    return grant;
  }

  /** A store call; its backend unreachable (`SseTransportError`) is a 503, logged once per outage with the store's message (never a ticket). */
  private async ask<T>(call: () => T | Promise<T>): Promise<T> {
    try {
      const answer = await call();
      this.unavailable = false;
      return answer;
    } catch (err) {
      if (!(err instanceof SseTransportError)) throw err;
      if (!this.unavailable)
        this.logger.warn(`ticket store unavailable, answering 503 until it is back: ${err.message}`);
      this.unavailable = true;
      throw new SseTicketsUnavailableError();
    }
  }
}
