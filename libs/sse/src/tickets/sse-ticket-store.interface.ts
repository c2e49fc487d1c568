import type { SseTokenClaims } from '../auth/sse-token.verifier.js';
import type { SseUser } from '../auth/sse-user.js';

/**
 * What a ticket stands for: the user its token established, the token's claims
 * (for `jwt.isRevoked` at redemption; `{}` when the store keeps none), the
 * module it was issued by, and the topics the stream it opens subscribes to.
 *
 * @publicApi
 */
export interface SseTicketGrant {
  user: SseUser;
  claims: SseTokenClaims;
  /** The module's path: a ticket is redeemed only where it was issued (two apps sharing one Redis prefix never swap tickets). */
  scope: string;
  /**
   * The topics of the stream it opens (`POST <path>?topic=`), checked when it was
   * asked for. Not empty: the module's route only (an own route chooses its topics itself).
   */
  topics: readonly string[];
}

/**
 * What issuing answers, and what `POST <path>` sends back.
 *
 * @publicApi
 */
export interface SseIssuedTicket {
  ticket: string;
  expiresInMs: number;
}

/**
 * What the module hands the ticket store it makes (the memory default, or a
 * transport's `createTicketStore`): the `tickets` options, and whether a
 * ticket keeps its token's claims.
 *
 * @publicApi
 */
export interface SseTicketStoreOptions {
  /** How long a ticket can be redeemed after its issue (`tickets.ttlMs`). */
  readonly ttlMs: number;
  /** Tickets outstanding for one user; past it the user's new ticket replaces its oldest (`tickets.maxPerUser`). */
  readonly maxPerUser: number;
  /** Tickets outstanding in all; past it a new ticket replaces another, never a refusal (`tickets.maxOutstanding`). */
  readonly maxOutstanding: number;
  /** Whether a ticket keeps its token's claims: only with `jwt.isRevoked`, which reads them at redemption. */
  readonly keepClaims: boolean;
}

/**
 * Where stream tickets live between `POST <path>` and the `GET ?ticket=` that
 * spends them. The default keeps them in this process's memory
 * (`MemoryTicketStore`); a transport that spans instances brings a shared one
 * (`RedisSseTransport`: any instance redeems a ticket, once), and `tickets.store`
 * replaces either. Each method may return a Promise; a store whose backend
 * cannot be reached throws `SseTransportError` (answered 503, the client asks
 * again), and logs neither tickets nor tokens.
 *
 * The rules every store keeps:
 * - single use: of any number of concurrent `redeem`s of one ticket, on any
 *   instance, at most one gets the grant; a ticket tried for any reason (even
 *   expired, or of another scope) is spent;
 * - a ticket is refused `ttlMs` after its issue;
 * - never refused for room: past `maxPerUser` a user's new ticket replaces that
 *   user's oldest, and past `maxOutstanding` one replaces another (the memory
 *   store: the oldest ticket of a user holding the most).
 *
 * @publicApi
 */
export interface SseTicketStore {
  /**
   * A new ticket for `grant` (`newTicket()`: 256 random bits, 43 URL-safe characters; the guards refuse any
   * other shape without a lookup), making room by replacement rather than refusing.
   */
  issue(grant: SseTicketGrant): SseIssuedTicket | Promise<SseIssuedTicket>;
  /**
   * The grant of a ticket issued for `scope`, at most once across everything
   * sharing the store; `undefined` for a ticket that is unknown, already used,
   * replaced, expired or issued for another scope.
   */
  redeem(ticket: string, scope: string): SseTicketGrant | undefined | Promise<SseTicketGrant | undefined>;
  /**
   * The grant `redeem` would give now, without spending the ticket (a `HEAD`,
   * which answers what its `GET` would and opens nothing). Changes nothing.
   */
  peek(ticket: string, scope: string): SseTicketGrant | undefined | Promise<SseTicketGrant | undefined>;
}
