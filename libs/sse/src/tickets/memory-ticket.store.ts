import type { SseTokenClaims } from '../auth/sse-token.verifier.js';
import { isTicketFormat, newTicket } from './sse-ticket.format.js';
import type {
  SseIssuedTicket,
  SseTicketGrant,
  SseTicketStore,
  SseTicketStoreOptions,
} from './sse-ticket-store.interface.js';

const NO_CLAIMS: SseTokenClaims = Object.freeze({});

interface Outstanding extends SseTicketGrant {
  /** `performance.now()` past which it is refused: a monotonic clock, so a wall-clock jump neither stretches nor voids it. */
  deadline: number;
}

/**
 * Short-lived, single-use stream tickets, held in this process's memory.
 *
 * Every ticket lives `tickets.ttlMs`, so the Map's insertion order is also its
 * expiry order: issuing sweeps the expired ones from its head, with no timer per
 * ticket. A redemption deletes the ticket in the same synchronous step that finds
 * it, so of two requests carrying one ticket exactly one gets its grant. A ticket
 * that fails for any reason (expired, another scope) is deleted too: a ticket is
 * tried once.
 *
 * A request for a ticket is never refused for room, since a refusal is what lets
 * a few hundred accounts lock everyone else out. Instead, a user's ticket past
 * `maxPerUser` replaces that user's oldest (a client asks a new ticket per
 * connection and redeems it at once: only its own stale ones go), and a ticket
 * past `maxOutstanding` replaces the oldest ticket of a user holding the most. A
 * user holding one ticket thus loses it only once every holder is down to one,
 * that is to `maxOutstanding` distinct users at once. Only `issue`, `redeem` and
 * `peek` (a `HEAD`'s look, which spends nothing) are the store's interface
 * (`SseTicketStore`): a shared store (across instances) keeps the same rules.
 *
 * The module's default without a transport that spans instances: behind a
 * round-robin balancer a ticket issued here is unknown to the other instances
 * (a 401 there).
 *
 * @publicApi
 */
export class MemoryTicketStore implements SseTicketStore {
  private readonly tickets = new Map<string, Outstanding>();
  /** Each user's outstanding tickets, oldest first (a Set keeps insertion order). */
  private readonly perUser = new Map<string, Set<string>>();
  /** `byCount[n]`: the users holding exactly n tickets, in the order they came to hold n; finds whom to evict without a scan. */
  private readonly byCount: Array<Set<string>> = [];

  /** `keepClaims` only for `jwt.isRevoked`: without it a ticket holds its user alone, not a token's worth of payload. */
  constructor(private readonly limits: SseTicketStoreOptions) {}

  /** Tickets issued and not yet redeemed (expired ones count until a sweep reaches them). */
  get size(): number {
    return this.tickets.size;
  }

  /** A new ticket for `grant`, making room by replacement when the user or the server holds the most allowed. */
  issue(grant: SseTicketGrant): SseIssuedTicket {
    const now = performance.now();
    this.sweep(now);
    const { ttlMs, maxOutstanding, maxPerUser } = this.limits;
    const userId = grant.user.userId;
    const own = this.perUser.get(userId);
    if (own !== undefined && own.size >= maxPerUser) this.evictOldestOf(userId, own);
    else if (this.tickets.size >= maxOutstanding) this.evictFromHeaviest();
    const ticket = newTicket();
    const claims = this.limits.keepClaims ? grant.claims : NO_CLAIMS;
    this.tickets.set(ticket, {
      user: grant.user,
      claims,
      scope: grant.scope,
      topics: grant.topics,
      deadline: now + ttlMs,
    });
    this.add(userId, ticket);
    return { ticket, expiresInMs: ttlMs };
  }

  /**
   * The grant of a ticket issued for `scope`, at most once; `undefined` for a
   * ticket that is unknown, already used, replaced, expired or issued for another scope.
   */
  redeem(ticket: string, scope: string): SseTicketGrant | undefined {
    if (!isTicketFormat(ticket)) return undefined;
    const outstanding = this.tickets.get(ticket);
    if (outstanding === undefined) return undefined;
    this.remove(ticket, outstanding.user.userId);
    if (outstanding.deadline <= performance.now() || outstanding.scope !== scope) return undefined;
    const { user, claims, topics } = outstanding;
    return { user, claims, scope, topics };
  }

  /**
   * The grant `redeem` would give now, without spending the ticket: for a `HEAD`,
   * which answers what its `GET` would and opens nothing. Changes nothing (a
   * ticket that fails here is left for its `GET`, which refuses it the same way).
   */
  peek(ticket: string, scope: string): SseTicketGrant | undefined {
    if (!isTicketFormat(ticket)) return undefined;
    const outstanding = this.tickets.get(ticket);
    if (outstanding === undefined || outstanding.deadline <= performance.now() || outstanding.scope !== scope) {
      return undefined;
    }
    const { user, claims, topics } = outstanding;
    return { user, claims, scope, topics };
  }

  /** Drops expired tickets from the head of the Map, where the oldest are. */
  private sweep(now: number): void {
    for (const [ticket, outstanding] of this.tickets) {
      if (outstanding.deadline > now) return;
      this.remove(ticket, outstanding.user.userId);
    }
  }

  private evictOldestOf(userId: string, own: Set<string>): void {
    const [oldest] = own;
    if (oldest !== undefined) this.remove(oldest, userId);
  }

  /** The oldest ticket of the user holding the most (of those, the one holding that many longest). */
  private evictFromHeaviest(): void {
    for (let count = this.byCount.length - 1; count > 0; count--) {
      const [userId] = this.byCount[count] ?? [];
      if (userId === undefined) continue;
      this.evictOldestOf(userId, this.perUser.get(userId)!);
      return;
    }
  }

  private add(userId: string, ticket: string): void {
    let own = this.perUser.get(userId);
    if (own === undefined) this.perUser.set(userId, (own = new Set()));
    this.recount(userId, own.size, own.size + 1);
    own.add(ticket);
  }

  private remove(ticket: string, userId: string): void {
    this.tickets.delete(ticket);
    const own = this.perUser.get(userId);
    if (own === undefined || !own.delete(ticket)) return;
    this.recount(userId, own.size + 1, own.size);
    if (own.size === 0) this.perUser.delete(userId);
  }

  private recount(userId: string, from: number, to: number): void {
    this.byCount[from]?.delete(userId);
    if (to === 0) return;
    (this.byCount[to] ??= new Set()).add(userId);
  }
}
