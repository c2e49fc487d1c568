import { isUserId } from '@nest-sse/protocol';
import { type CanActivate, type ExecutionContext, Inject, Injectable, Optional } from '@nestjs/common';

import { SseUnauthorizedError } from '../sse.exceptions.js';
import { SseTicketService } from '../tickets/sse-ticket.service.js';
import type { SseTicketGrant } from '../tickets/sse-ticket-store.interface.js';
import { exposeAuthReason } from './sse-auth-reason.header.js';
import { type SseTokenClaims, SseTokenVerifier } from './sse-token.verifier.js';
import { SSE_CLAIMS_KEY, SSE_USER_KEY, type SseUser } from './sse-user.js';

/**
 * Where Nest puts `SseTicketService` on the guard (property injection, after the
 * constructor): a symbol of this file, not public, so that no subclass's own
 * fields (a `tickets` of its own, say) can collide with it.
 */
export const SSE_TICKETS = Symbol('sseTickets');
/** The one path by which both guards authenticate a request by its ticket (not public). */
export const SSE_REDEEM_TICKET = Symbol('sseRedeemTicket');

/**
 * What the guard reads from a request (Express's and Fastify's both have it),
 * and where it leaves the user.
 *
 * @publicApi
 */
export interface SseAuthRequest {
  headers: Record<string, string | string[] | undefined>;
  query?: Record<string, unknown>;
  /** `GET`, `HEAD`, `POST`...: a `HEAD` looks at a ticket without spending it, and only a `GET` or `HEAD` takes one. */
  method?: string;
  [SSE_USER_KEY]?: SseUser;
}

/**
 * Authenticates a stream before any byte of it is written, and leaves its
 * `SseUser` on the request for `@SseStreamUser()`. The module's own route uses
 * it; put it on your own routes too, in any module (`SseModule` exports what it
 * injects):
 *
 * ```ts
 * @SseRoute('orders/events')
 * @UseGuards(SseAuthGuard)
 * events(@SseStreamUser() user: SseUser, @Req() request: Request) {
 *   // request: the stream resumes from the client's Last-Event-ID (or ?lastEventId=), as the module's route does
 *   return this.sse.openStream(user.userId, { request, expiresAt: user.expiresAt });
 * }
 * ```
 *
 * By default the token is a JWT in `?token=` (EventSource cannot set headers)
 * or `Authorization: Bearer`, verified with the module's `jwt` options. To
 * authenticate streams another way, extend it and override its protected hooks,
 * as with `ThrottlerGuard.getTracker()`: `extractToken` (say, from a cookie),
 * `verifyToken` (say, a session lookup) and `resolveUser` (say, adding roles);
 * each may be async. Every failure is a 401 with a JSON body whose `reason`
 * (also the `SSE-Auth-Reason` header) is its category (`SSE_AUTH_FAILURE_REASONS`),
 * or the exception a hook throws; nothing here logs or echoes the token.
 *
 * **Tickets.** A `GET` (or `HEAD`) with `?ticket=` is authenticated by the
 * ticket alone (the token stays out of the URL): a ticket from the module's
 * `POST <path>`, or from `SseTicketService.issue()` on an app's own `POST`,
 * redeemed once on any instance sharing the ticket store; a `HEAD` checks it
 * without spending it. The stream is the token's: it ends when the token
 * expires, and `jwt.isRevoked` is asked again. A ticket bound to topics
 * (`POST <path>?topic=`) opens the module's route only (a 401 here): an own
 * route picks its topics itself. The recommended own route:
 *
 * ```ts
 * @SseRoute('jobs/:id/events')
 * @UseGuards(SseAuthGuard)
 * events(@SseStreamUser() user: SseUser, @Param('id') id: string, @Req() request: Request) {
 *   // authorise `jobs/${id}` for the user (an @SseTopic() policy) before it is subscribed
 *   return this.sse.openStream(user.userId, { request, topics: [`jobs/${id}`], expiresAt: user.expiresAt });
 * }
 * ```
 *
 * A ticket's user is the one the issuing route's guard resolved, so a subclass
 * that overrides `extractToken`, `verifyToken` or `resolveUser` takes no
 * tickets (its hooks would not run for them: `?ticket=` is ignored, as before)
 * unless it overrides `acceptsTickets()` (and, to check or extend the user,
 * `resolveTicketUser()`).
 *
 * @publicApi
 */
@Injectable()
export class SseAuthGuard implements CanActivate {
  /**
   * Set by Nest after construction (a property, so a subclass's constructor stays
   * `super(verifier)`; keyed by a private symbol, so a subclass's own fields are
   * its own); absent in a guard made with `new`, which then takes no tickets.
   */
  @Optional()
  @Inject(SseTicketService)
  private readonly [SSE_TICKETS]?: SseTicketService;

  constructor(protected readonly verifier: SseTokenVerifier) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    try {
      const request = context.switchToHttp().getRequest<SseAuthRequest>();
      if (this[SSE_TICKETS] !== undefined && carriesTicket(request) && this.acceptsTickets(request)) {
        // A ticket bound to topics opens the module's route only: an own route picks its topics itself.
        await this[SSE_REDEEM_TICKET](request, request.query!.ticket, { acceptTopics: false });
        return true;
      }
      const token = await this.extractToken(request);
      if (!token) throw new SseUnauthorizedError('Missing token: pass ?token= or Authorization: Bearer', 'missing');
      const claims = await this.verifyToken(token, request);
      await this.verifier.assertNotRevoked(claims);
      request[SSE_USER_KEY] = checkedUser(await this.resolveUser(claims, request));
      // For a ticket issued on this request (SseTicketService.issue): jwt.isRevoked reads them at redemption.
      (request as { [SSE_CLAIMS_KEY]?: SseTokenClaims })[SSE_CLAIMS_KEY] = claims;
      return true;
    } catch (err) {
      exposeAuthReason(context, err);
      throw err;
    }
  }

  /**
   * Authenticates `request` by `ticket` (spent; a `HEAD` only looks) and leaves its user on it, as
   * `resolveTicketUser` gives it and checked as every user is; returns the grant. Both guards' one
   * path: the module's route (which subscribes a ticket's topics: `acceptTopics`) and own routes.
   */
  protected async [SSE_REDEEM_TICKET](
    request: SseAuthRequest,
    ticket: unknown,
    options: { acceptTopics: boolean },
  ): Promise<SseTicketGrant> {
    const tickets = this[SSE_TICKETS];
    if (tickets === undefined)
      throw new Error('SseAuthGuard: no SseTicketService (a guard made with new takes no tickets)');
    const grant = await tickets.redeem(ticket, request, options);
    request[SSE_USER_KEY] = checkedUser(await this.resolveTicketUser(grant, request));
    return grant;
  }

  /**
   * Whether `?ticket=` authenticates the request. By default yes when this
   * guard authenticates as the module's route does (none of `extractToken`,
   * `verifyToken`, `resolveUser` overridden), since a ticket's user is what that
   * resolved; a subclass that overrides any of them returns `true` here to take
   * tickets too (and checks the user in `resolveTicketUser`).
   */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the default ignores request; it is passed for overrides
  protected acceptsTickets(request: SseAuthRequest): boolean {
    const own = SseAuthGuard.prototype;
    return (
      this.extractToken === own.extractToken &&
      this.verifyToken === own.verifyToken &&
      this.resolveUser === own.resolveUser
    );
  }

  /**
   * The stream's user for a redeemed ticket: by default the user the ticket
   * was issued for. Override to check or extend it (throw a
   * `ForbiddenException` for a 403); `grant.claims` are the token's only with
   * `jwt.isRevoked` (else `{}`).
   */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the default ignores request; it is passed for overrides
  protected resolveTicketUser(grant: SseTicketGrant, request: SseAuthRequest): SseUser | Promise<SseUser> {
    return grant.user;
  }

  /**
   * The credential the request carries, or `undefined` (a 401). By default the
   * `Authorization: Bearer` token, else `?token=`; an `Authorization` header of
   * another scheme counts as none.
   */
  protected extractToken(request: SseAuthRequest): string | undefined | Promise<string | undefined> {
    if (hasAuthorization(request)) return readBearer(request);
    const query = request.query?.token;
    return typeof query === 'string' && query.length > 0 ? query : undefined;
  }

  /** The claims the credential stands for; throws (a 401 by default) when it is not valid. By default a JWT. */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the default ignores request; it is passed for overrides
  protected verifyToken(token: string, request: SseAuthRequest): SseTokenClaims | Promise<SseTokenClaims> {
    return this.verifier.verify(token);
  }

  /**
   * The stream's user, from verified claims: by default the id in `jwt.userIdClaim`
   * and the end of the stream from `exp`. Return more (roles) to read it in the
   * handler; throw to refuse (a `ForbiddenException` is a 403).
   */
  // eslint-disable-next-line @typescript-eslint/no-unused-vars -- the default ignores request; it is passed for overrides
  protected resolveUser(claims: SseTokenClaims, request: SseAuthRequest): SseUser | Promise<SseUser> {
    return this.verifier.toUser(claims);
  }
}

/** Whether the request opens a stream with a ticket: a `GET` or `HEAD` with `?ticket=` (a ticket never buys another on a `POST`). */
function carriesTicket(request: SseAuthRequest): boolean {
  const method = request.method ?? 'GET';
  return (method === 'GET' || method === 'HEAD') && request.query?.ticket !== undefined;
}

/** Whether the request carries an `Authorization` header at all (of any scheme). */
function hasAuthorization(request: SseAuthRequest): boolean {
  const auth = request.headers.authorization;
  return typeof auth === 'string' && auth.length > 0;
}

/** The token of an `Authorization: Bearer` header; `undefined` without one, or for another scheme. */
export function readBearer(request: SseAuthRequest): string | undefined {
  const auth = request.headers.authorization;
  const match = typeof auth === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(auth) : null;
  return match ? match[1] : undefined;
}

/** What a hook returned, checked: `SseService` could not send to a bad id, nor end a stream at a bad time. */
function checkedUser(user: SseUser): SseUser {
  if (!isUserId(user?.userId)) throw new SseUnauthorizedError('Invalid credentials: no usable user id', 'invalid');
  if (user.expiresAt !== undefined && !Number.isFinite(user.expiresAt)) {
    throw new TypeError('SseAuthGuard: resolveUser returned an expiresAt that is not a finite number');
  }
  return user;
}
