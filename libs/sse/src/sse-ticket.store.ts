import { randomBytes } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { ResolvedSseOptions } from './sse-options.resolver.js';
import type { SseTokenClaims } from './sse-token.verifier.js';
import type { SseUser } from './sse-user.js';
import { SseTicketLimitError } from './sse.exceptions.js';
import { SSE_OPTIONS } from './sse.tokens.js';

/** Random bytes in a ticket: 256 bits, 43 URL-safe characters (base64url, no padding). */
const TICKET_BYTES = 32;
/** What a ticket looks like; anything else (a JWT, with its dots) is refused without a lookup. */
const TICKET_FORMAT = /^[A-Za-z0-9_-]{43}$/;
const NO_CLAIMS: SseTokenClaims = Object.freeze({});

/**
 * What a ticket stands for: the user its token established, the token's claims
 * (for `jwt.isRevoked` at redemption), and the route it opens.
 */
export interface SseTicketGrant {
  user: SseUser;
  claims: SseTokenClaims;
  scope: string;
  /** The topics the stream it opens subscribes to, checked when it was asked for. */
  topics: readonly string[];
}

/** What `POST <path>` answers. */
export interface SseIssuedTicket {
  ticket: string;
  expiresInMs: number;
}

interface Outstanding extends SseTicketGrant {
  /** `performance.now()` past which it is refused: a monotonic clock, so a wall-clock jump neither stretches nor voids it. */
  deadline: number;
}

/**
 * Short-lived, single-use stream tickets, held in this process's memory.
 *
 * Every ticket lives `tickets.ttlMs`, so the Map's insertion order is also its
 * expiry order: issuing sweeps the expired ones from its head, with no timer per
 * ticket, and `maxOutstanding` bounds what a sweep has not reached. A redemption
 * deletes the ticket in the same synchronous step that finds it, so of two
 * requests carrying one ticket exactly one gets its grant. A ticket that fails
 * for any reason (expired, another scope) is deleted too: a ticket is tried once.
 */
@Injectable()
export class SseTicketStore {
  private readonly tickets = new Map<string, Outstanding>();
  /** Outstanding tickets per user id, for `maxPerUser`. */
  private readonly perUser = new Map<string, number>();
  private readonly limits: ResolvedSseOptions['tickets'];
  /** Claims are kept only for `jwt.isRevoked`: without it a ticket holds its user alone, not a token's worth of payload. */
  private readonly keepClaims: boolean;

  constructor(@Inject(SSE_OPTIONS) options: ResolvedSseOptions) {
    this.limits = options.tickets;
    this.keepClaims = options.jwt.isRevoked !== undefined;
  }

  /** Tickets issued and not yet redeemed (expired ones count until a sweep reaches them). */
  get size(): number {
    return this.tickets.size;
  }

  /** A new ticket for `grant`; throws `SseTicketLimitError` when the user or the server holds too many. */
  issue(grant: SseTicketGrant): SseIssuedTicket {
    const now = performance.now();
    this.sweep(now);
    const { ttlMs, maxOutstanding, maxPerUser } = this.limits;
    const held = this.perUser.get(grant.user.userId) ?? 0;
    if (held >= maxPerUser) throw new SseTicketLimitError('user', maxPerUser);
    if (this.tickets.size >= maxOutstanding) throw new SseTicketLimitError('server', maxOutstanding);
    const ticket = randomBytes(TICKET_BYTES).toString('base64url');
    const claims = this.keepClaims ? grant.claims : NO_CLAIMS;
    this.tickets.set(ticket, { user: grant.user, claims, scope: grant.scope, topics: grant.topics, deadline: now + ttlMs });
    this.perUser.set(grant.user.userId, held + 1);
    return { ticket, expiresInMs: ttlMs };
  }

  /**
   * The grant of a ticket issued for `scope`, at most once; `undefined` for a
   * ticket that is unknown, already used, expired or issued for another scope.
   */
  redeem(ticket: string, scope: string): SseTicketGrant | undefined {
    if (!TICKET_FORMAT.test(ticket)) return undefined;
    const outstanding = this.tickets.get(ticket);
    if (outstanding === undefined) return undefined;
    this.remove(ticket, outstanding);
    if (outstanding.deadline <= performance.now() || outstanding.scope !== scope) return undefined;
    const { user, claims, topics } = outstanding;
    return { user, claims, scope, topics };
  }

  /** Drops expired tickets from the head of the Map, where the oldest are. */
  private sweep(now: number): void {
    for (const [ticket, outstanding] of this.tickets) {
      if (outstanding.deadline > now) return;
      this.remove(ticket, outstanding);
    }
  }

  private remove(ticket: string, { user }: Outstanding): void {
    this.tickets.delete(ticket);
    const held = (this.perUser.get(user.userId) ?? 1) - 1;
    if (held > 0) this.perUser.set(user.userId, held);
    else this.perUser.delete(user.userId);
  }
}
