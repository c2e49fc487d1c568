import { type ExecutionContext, Inject, Injectable, UnauthorizedException } from '@nestjs/common';
import { readBearer, SseAuthGuard, type SseAuthRequest } from './sse-auth.guard.js';
import { SseTicketStore } from './sse-ticket.store.js';
import { SseTokenVerifier, type SseTokenClaims } from './sse-token.verifier.js';
import { SSE_USER_KEY } from './sse-user.js';
import { SSE_ROUTE_PATH } from './sse.tokens.js';

/** Where the guard leaves the claims of a ticket request's token, for the handler that issues the ticket. */
export const SSE_TICKET_CLAIMS_KEY = Symbol('sseTicketClaims');

/** One message for every ticket that cannot be used: a client learns nothing by probing. */
const INVALID_TICKET = 'Invalid ticket: unknown, expired or already used';

interface TicketRequest extends SseAuthRequest {
  method?: string;
  [SSE_TICKET_CLAIMS_KEY]?: SseTokenClaims;
}

/**
 * The module's own route guard: `SseAuthGuard` plus stream tickets.
 *
 * - `POST <path>` (asking for a ticket) takes the token from `Authorization: Bearer`
 *   only: a ticket exists to keep tokens out of URLs, so a `?token=` there is
 *   ignored, and a ticket never buys another one.
 * - `GET <path>?ticket=` redeems a ticket issued at this route, once; when the
 *   parameter is present it is the only credential looked at. The stream then
 *   ends when the token behind the ticket expires, and `jwt.isRevoked` is asked
 *   again, since the ticket may be redeemed up to `tickets.ttlMs` after its token
 *   was checked.
 * - Anything else (`?token=`, Bearer on a GET) is `SseAuthGuard`'s.
 */
@Injectable()
export class SseTicketGuard extends SseAuthGuard {
  constructor(
    verifier: SseTokenVerifier,
    private readonly tickets: SseTicketStore,
    @Inject(SSE_ROUTE_PATH) private readonly scope: string,
  ) {
    super(verifier);
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<TicketRequest>();
    if (request.method === 'POST') {
      // With a Bearer header, SseAuthGuard reads the token from it and never from the query.
      if (!readBearer(request)) throw new UnauthorizedException('Missing token: pass Authorization: Bearer');
      return super.canActivate(context);
    }
    const ticket = request.query?.ticket;
    if (ticket === undefined) return super.canActivate(context);
    // A repeated parameter arrives as an array: not a ticket.
    const grant = typeof ticket === 'string' ? this.tickets.redeem(ticket, this.scope) : undefined;
    if (!grant) throw new UnauthorizedException(INVALID_TICKET);
    const { user, claims } = grant;
    this.verifier.assertNotExpired(user);
    await this.verifier.assertNotRevoked(claims);
    request[SSE_USER_KEY] = user;
    return true;
  }

  /** Keeps the claims on the request: the ticket holds them, for `jwt.isRevoked` when it is redeemed. */
  protected override async verifyToken(token: string, request: TicketRequest): Promise<SseTokenClaims> {
    const claims = await super.verifyToken(token, request);
    request[SSE_TICKET_CLAIMS_KEY] = claims;
    return claims;
  }
}
