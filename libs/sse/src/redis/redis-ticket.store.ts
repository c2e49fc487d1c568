import { createHash } from 'node:crypto';

import type { Redis } from 'ioredis';

import { SseTransportError } from '../sse.exceptions.js';
import { isTicketFormat, newTicket } from '../tickets/sse-ticket.format.js';
import type {
  SseIssuedTicket,
  SseTicketGrant,
  SseTicketStore,
  SseTicketStoreOptions,
} from '../tickets/sse-ticket-store.interface.js';
import type { RedisScripts } from './redis.scripts.js';
import { answered } from './redis-presence.js';
import type { RedisSseKeys } from './redis-transport.options.js';

/**
 * Stream tickets in Redis, shared by every instance on the transport: a ticket
 * issued by one is redeemed on any, once. Each call is one script, so one round
 * trip: issuing sweeps the expired, makes room and adds; redeeming looks up,
 * spends and checks deadline and scope atomically, so of any number of
 * concurrent redemptions of one ticket across the cluster exactly one gets the
 * grant. Deadlines are Redis's clock; each ticket's key expires with it (PX).
 *
 * The rules are the memory store's, across the cluster: past `maxPerUser` a
 * user's new ticket replaces that user's oldest; past `maxOutstanding` (counted
 * across the cluster) it replaces the oldest ticket of a user holding the most
 * (among users holding equally many, the one whose id sorts last, where the
 * memory store takes the one that has held that many longest: Redis orders ties
 * in a sorted set by member). Never a refusal for room.
 *
 * Redis holds the SHA-256 of each ticket, never the ticket, nor (without
 * `jwt.isRevoked`) the token's claims. While Redis is unreachable every call
 * throws `SseTransportError` at once (a 503 for the request, which the client
 * retries), and one that gets no answer within 2 s, or an error reply (READONLY,
 * OOM, MISCONF, LOADING...), too; such a redemption may still have spent the
 * ticket, which the client then replaces.
 */
export class RedisTicketStore implements SseTicketStore {
  constructor(
    private readonly client: Redis & RedisScripts,
    private readonly keys: RedisSseKeys,
    private readonly limits: SseTicketStoreOptions,
  ) {}

  async issue(grant: SseTicketGrant): Promise<SseIssuedTicket> {
    this.assertReachable();
    const ticket = newTicket();
    const hash = hashOf(ticket);
    const { user, scope, topics } = grant;
    const claims = this.limits.keepClaims ? grant.claims : {};
    const { keys } = this;
    await reply(
      this.client.sseTicketIssue(
        keys.allTickets,
        keys.ticketHolders,
        keys.userTickets(user.userId),
        keys.ticket(hash),
        keys.ticketPrefix,
        keys.userTicketsPrefix,
        user.userId,
        hash,
        this.limits.ttlMs,
        this.limits.maxPerUser,
        this.limits.maxOutstanding,
        scope,
        JSON.stringify({ user, claims, topics }),
      ),
    );
    return { ticket, expiresInMs: this.limits.ttlMs };
  }

  redeem(ticket: string, scope: string): Promise<SseTicketGrant | undefined> {
    return this.lookUp(ticket, scope, true);
  }

  peek(ticket: string, scope: string): Promise<SseTicketGrant | undefined> {
    return this.lookUp(ticket, scope, false);
  }

  private async lookUp(ticket: string, scope: string, spend: boolean): Promise<SseTicketGrant | undefined> {
    if (!isTicketFormat(ticket)) return undefined;
    this.assertReachable();
    const hash = hashOf(ticket);
    const { keys } = this;
    const found = await reply(
      this.client.sseTicketRedeem(
        keys.allTickets,
        keys.ticketHolders,
        keys.ticket(hash),
        keys.ticketPrefix,
        keys.userTicketsPrefix,
        hash,
        scope,
        spend ? '1' : '0',
      ),
    );
    if (typeof found !== 'string') return undefined;
    const { user, claims, topics } = JSON.parse(found) as Omit<SseTicketGrant, 'scope'>;
    return { user, claims, scope, topics };
  }

  /** Refused at once while Redis is away: a command would wait in the offline queue for it. */
  private assertReachable(): void {
    if (this.client.status !== 'ready')
      throw new SseTransportError('Redis is unreachable: stream tickets cannot be issued or checked');
  }
}

/**
 * A script's answer; any failure is `SseTransportError` (a 503 the client retries): no answer within 2 s, and
 * every error reply too (READONLY after a failover, OOM, MISCONF, LOADING while Redis loads its data...), which
 * would otherwise be a 500. Its message is fixed, with at most Redis's error code: never the command's
 * arguments (hashes, user ids, claims). A NOSCRIPT (Redis lost its script cache) never gets here: ioredis sends
 * the script again.
 */
async function reply<T>(call: Promise<T>): Promise<T> {
  try {
    return await answered(call);
  } catch (err) {
    if (err instanceof SseTransportError) throw err;
    const code = /^[A-Z]{2,16}(?=\s|$)/.exec(String((err as Error)?.message ?? ''))?.[0];
    throw new SseTransportError(`Redis refused a ticket command${code ? ` (${code})` : ''}`);
  }
}

/** What Redis keys a ticket by: a dump or MONITOR of Redis shows no ticket that could open a stream. */
function hashOf(ticket: string): string {
  return createHash('sha256').update(ticket).digest('base64url');
}
