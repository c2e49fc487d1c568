import { jest } from '@jest/globals';

import type { SseTicketOptions } from '../options/sse-options.interface.js';
import { resolveSseOptions } from '../options/sse-options.resolver.js';
import { MemoryTicketStore } from './memory-ticket.store.js';

const SCOPE = '/api/events';
/** The store as the module makes it from its options. */
const store = (tickets: SseTicketOptions = {}, isRevoked?: () => boolean) =>
  new MemoryTicketStore({
    ...resolveSseOptions({ jwt: { secret: 's' }, tickets }).tickets,
    keepClaims: isRevoked !== undefined,
  });
const grant = (userId: string) => ({
  user: { userId, expiresAt: Date.now() + 3_600_000 },
  claims: { sub: userId },
  scope: SCOPE,
  topics: ['orders/1'],
});
const redeems = (tickets: MemoryTicketStore, ticket: string) => tickets.redeem(ticket, SCOPE) !== undefined;

/** A small seeded PRNG (mulberry32): the interleavings are random, and the same on every run. */
function seeded(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The store's rules, written plainly (arrays and scans) to check it against: a
 * user's ticket past maxPerUser replaces its oldest; past maxOutstanding, the
 * oldest ticket of the user holding the most goes (of those, the one holding
 * that many longest); expired tickets are swept, oldest first, before either.
 */
class TicketModel {
  private readonly issued: Array<{ ticket: string; userId: string; deadline: number }> = [];
  /** Per user: its tickets, oldest first, and when its count last changed. */
  private readonly users = new Map<string, { tickets: string[]; since: number }>();
  private clock = 0;

  constructor(private readonly limits: { maxOutstanding: number; maxPerUser: number; ttlMs: number }) {}

  get size(): number {
    return this.issued.length;
  }

  heaviest(): number {
    return Math.max(0, ...[...this.users.values()].map((u) => u.tickets.length));
  }

  issue(ticket: string, userId: string, now: number): void {
    for (const expired of this.issued.filter((t) => t.deadline <= now)) this.drop(expired.ticket);
    const own = this.users.get(userId);
    if (own !== undefined && own.tickets.length >= this.limits.maxPerUser) this.drop(own.tickets[0]);
    else if (this.issued.length >= this.limits.maxOutstanding) {
      const most = this.heaviest();
      const victim = [...this.users.values()]
        .filter((u) => u.tickets.length === most)
        .sort((a, b) => a.since - b.since)[0];
      this.drop(victim.tickets[0]);
    }
    this.issued.push({ ticket, userId, deadline: now + this.limits.ttlMs });
    const user = this.users.get(userId) ?? { tickets: [], since: 0 };
    user.tickets.push(ticket);
    user.since = this.clock++;
    this.users.set(userId, user);
  }

  /** The user a ticket opens a stream for, or undefined; a ticket is tried once. */
  redeem(ticket: string, now: number): string | undefined {
    const found = this.issued.find((t) => t.ticket === ticket);
    if (found === undefined) return undefined;
    this.drop(ticket);
    return found.deadline > now ? found.userId : undefined;
  }

  private drop(ticket: string): void {
    const index = this.issued.findIndex((t) => t.ticket === ticket);
    const { userId } = this.issued.splice(index, 1)[0];
    const user = this.users.get(userId)!;
    user.tickets = user.tickets.filter((t) => t !== ticket);
    user.since = this.clock++;
    if (user.tickets.length === 0) this.users.delete(userId);
  }
}

describe('MemoryTicketStore', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('issues distinct 256-bit URL-safe tickets, each redeemed once, for its own scope only', () => {
    const tickets = store();
    const a = tickets.issue(grant('ann'));
    const b = tickets.issue(grant('ann'));
    expect(a.ticket).not.toBe(b.ticket);
    expect(a).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresInMs: 30_000 });
    expect(tickets.redeem(a.ticket, SCOPE)).toMatchObject({ user: { userId: 'ann' }, topics: ['orders/1'] });
    expect(tickets.redeem(a.ticket, SCOPE)).toBeUndefined();
    // Tried at another route, a ticket is refused, and burnt.
    expect(tickets.redeem(b.ticket, '/elsewhere')).toBeUndefined();
    expect(tickets.redeem(b.ticket, SCOPE)).toBeUndefined();
    expect(tickets.size).toBe(0);
  });

  it("peek (a HEAD's look) gives the grant redeem would give, and spends nothing: not the ticket, not its place", () => {
    const tickets = store({ ttlMs: 1_000, maxPerUser: 2 });
    const a = tickets.issue(grant('ann'));
    const b = tickets.issue(grant('ann'));
    for (let i = 0; i < 3; i++) {
      expect(tickets.peek(a.ticket, SCOPE)).toEqual({
        user: { userId: 'ann', expiresAt: expect.any(Number) },
        claims: {},
        scope: SCOPE,
        topics: ['orders/1'],
      });
    }
    // Another route's ticket, an unknown one, a JWT: nothing, and the ticket is still there for its own route.
    expect(tickets.peek(b.ticket, '/elsewhere')).toBeUndefined();
    expect(tickets.peek('A'.repeat(43), SCOPE)).toBeUndefined();
    expect(tickets.peek('eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln', SCOPE)).toBeUndefined();
    expect(tickets.size).toBe(2);
    // Peeked tickets are still the user's oldest: the next one replaces a, as if never peeked.
    const c = tickets.issue(grant('ann'));
    expect(tickets.peek(a.ticket, SCOPE)).toBeUndefined();
    expect(tickets.peek(c.ticket, SCOPE)).toMatchObject({ user: { userId: 'ann' } });
    expect(tickets.redeem(b.ticket, SCOPE)).toMatchObject({ user: { userId: 'ann' } });
    // Redeemed: peek says so. Expired: peek says so, as redeem.
    expect(tickets.peek(b.ticket, SCOPE)).toBeUndefined();
    jest.advanceTimersByTime(1_000);
    expect(tickets.peek(c.ticket, SCOPE)).toBeUndefined();
    expect(tickets.redeem(c.ticket, SCOPE)).toBeUndefined();
  });

  it('refuses a ticket once ttlMs has passed, and sweeps it on the next issue, freeing its place', () => {
    const tickets = store({ ttlMs: 1_000, maxPerUser: 2, maxOutstanding: 2 });
    const first = tickets.issue(grant('bo'));
    jest.advanceTimersByTime(999);
    const second = tickets.issue(grant('cy'));
    jest.advanceTimersByTime(1);
    // bo's ticket is past its time: the sweep drops it before anything live is evicted.
    const third = tickets.issue(grant('di'));
    expect(tickets.size).toBe(2);
    expect(redeems(tickets, first.ticket)).toBe(false);
    expect(redeems(tickets, second.ticket)).toBe(true);
    jest.advanceTimersByTime(999);
    expect(redeems(tickets, third.ticket)).toBe(true);
  });

  it("a user holds at most maxPerUser tickets: the next one replaces that user's oldest, never a 429", () => {
    const tickets = store({ maxPerUser: 2 });
    const [a, b, c] = [tickets.issue(grant('ann')), tickets.issue(grant('ann')), tickets.issue(grant('ann'))];
    const other = tickets.issue(grant('bo'));
    expect(tickets.size).toBe(3);
    expect(redeems(tickets, a.ticket)).toBe(false);
    expect([b, c, other].map((t) => redeems(tickets, t.ticket))).toEqual([true, true, true]);
  });

  it('a redeemed ticket frees its place: the user is not charged for tickets it used', () => {
    const tickets = store({ maxPerUser: 2 });
    const a = tickets.issue(grant('ann'));
    expect(redeems(tickets, a.ticket)).toBe(true);
    const [b, c] = [tickets.issue(grant('ann')), tickets.issue(grant('ann'))];
    expect([b, c].map((t) => redeems(tickets, t.ticket))).toEqual([true, true]);
  });

  it('past maxOutstanding, a new ticket evicts the oldest ticket of the user holding the most, never a 503', () => {
    const tickets = store({ maxOutstanding: 4, maxPerUser: 3 });
    const innocent = tickets.issue(grant('ivy'));
    const greedy = [tickets.issue(grant('gus')), tickets.issue(grant('gus')), tickets.issue(grant('gus'))];
    // The store is full: a newcomer's ticket takes the place of gus's oldest, not ivy's older one.
    const newcomer = tickets.issue(grant('nia'));
    expect(tickets.size).toBe(4);
    expect(greedy.map((t) => redeems(tickets, t.ticket))).toEqual([false, true, true]);
    expect(redeems(tickets, innocent.ticket)).toBe(true);
    expect(redeems(tickets, newcomer.ticket)).toBe(true);
  });

  it("a user's single ticket is evicted only once every holder has one, and then the user holding one longest loses it", () => {
    const tickets = store({ maxOutstanding: 3, maxPerUser: 2 });
    const ivy = tickets.issue(grant('ivy'));
    const gus = [tickets.issue(grant('gus')), tickets.issue(grant('gus'))];
    // gus holds two: a newcomer's ticket takes gus's oldest, not ivy's, older still.
    const a1 = tickets.issue(grant('a1'));
    // Now every holder has one (ivy, a1, gus): the next newcomer takes the one ivy has held longest.
    const a2 = tickets.issue(grant('a2'));
    expect(gus.map((t) => redeems(tickets, t.ticket))).toEqual([false, true]);
    expect(redeems(tickets, ivy.ticket)).toBe(false);
    expect([a1, a2].map((t) => redeems(tickets, t.ticket))).toEqual([true, true]);
  });

  it('at the defaults, 1,000 users x 10 requests hold 5,000 tickets, and an innocent user still gets one that opens', () => {
    const tickets = store();
    const issued: string[] = [];
    for (let user = 0; user < 1_000; user++) {
      for (let n = 0; n < 10; n++) issued.push(tickets.issue(grant(`flood-${user}`)).ticket);
    }
    expect(tickets.size).toBe(5_000);
    const innocent = tickets.issue(grant('innocent'));
    expect(redeems(tickets, innocent.ticket)).toBe(true);
    // Each flooding user kept its 5 newest.
    expect(redeems(tickets, issued[4])).toBe(false);
    expect(redeems(tickets, issued[5])).toBe(true);
  });

  it('at the defaults, 2,000 users holding 5 fill the 10,000 cap, and a user holding one keeps it until 10,000 distinct users hold one each', () => {
    /** The innocent's ticket, then 2,000 users x 5, then `singles` users with one each: whether the innocent's still opens. */
    const innocentKeeps = (singles: number): boolean => {
      const tickets = store();
      const innocent = tickets.issue(grant('innocent'));
      for (let user = 0; user < 2_000; user++) {
        for (let n = 0; n < 5; n++) tickets.issue(grant(`flood-${user}`));
      }
      expect(tickets.size).toBe(10_000);
      for (let user = 0; user < singles; user++) tickets.issue(grant(`single-${user}`));
      expect(tickets.size).toBe(10_000);
      return redeems(tickets, innocent.ticket);
    };
    // Each newcomer's ticket took one from a user holding several: 1 + 2,000 + 7,999 users now hold one each.
    expect(innocentKeeps(7_999)).toBe(true);
    // Only then does a single ticket go: the one held longest, the innocent's.
    expect(innocentKeeps(8_000)).toBe(false);
  });

  it('interleaved issues, redemptions and expiries by many users agree with a plain model of the rules at every step (seeded)', () => {
    const random = seeded(21);
    const limits = { maxOutstanding: 50, maxPerUser: 3, ttlMs: 2_000 };
    const tickets = store(limits);
    const model = new TicketModel(limits);
    const live: string[] = [];
    let [redeemed, refused] = [0, 0];
    for (let step = 0; step < 10_000; step++) {
      const roll = random();
      if (roll < 0.6) {
        const userId = `u${Math.floor(random() ** 2 * 200)}`;
        const { ticket } = tickets.issue(grant(userId));
        model.issue(ticket, userId, Date.now());
        live.push(ticket);
      } else if (roll < 0.95 && live.length > 0) {
        const [ticket] = live.splice(Math.floor(random() * live.length), 1);
        const expected = model.redeem(ticket, Date.now());
        // A HEAD's peek first: the same answer, and the redemption after it unchanged.
        expect(tickets.peek(ticket, SCOPE)?.user.userId).toBe(expected);
        expect(tickets.redeem(ticket, SCOPE)?.user.userId).toBe(expected);
        if (expected === undefined) refused++;
        else redeemed++;
      } else {
        jest.advanceTimersByTime(Math.floor(random() * 500));
      }
      expect(tickets.size).toBe(model.size);
      expect(tickets.size).toBeLessThanOrEqual(limits.maxOutstanding);
      expect(model.heaviest()).toBeLessThanOrEqual(limits.maxPerUser);
    }
    // Enough of both to mean something: tickets redeemed, and tickets replaced or expired before their turn.
    expect([redeemed, refused].every((n) => n > 300)).toBe(true);
  });

  it("keeps a token's claims only when jwt.isRevoked will read them", () => {
    const plain = store();
    expect(plain.redeem(plain.issue(grant('cy')).ticket, SCOPE)?.claims).toEqual({});
    const revocable = store({}, () => false);
    expect(revocable.redeem(revocable.issue(grant('cy')).ticket, SCOPE)?.claims).toEqual({ sub: 'cy' });
  });

  it.each([
    ['not a ticket', 'x'],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln'],
    ['too long', 'A'.repeat(44)],
  ])('finds nothing for %s', (_, ticket) => {
    expect(store().redeem(ticket, SCOPE)).toBeUndefined();
    expect(store().peek(ticket, SCOPE)).toBeUndefined();
  });
});

describe('tickets options', () => {
  it('defaults to 30 s, 10,000 outstanding, 5 per user', () => {
    expect(resolveSseOptions({ jwt: { secret: 's' } }).tickets).toEqual({
      ttlMs: 30_000,
      maxOutstanding: 10_000,
      maxPerUser: 5,
    });
  });

  it.each([
    [{ ttlMs: 0 }, /tickets.ttlMs must be an integer between 1 and 300000, got 0/],
    // A ticket that lives for hours is a token in a URL again.
    [{ ttlMs: 300_001 }, /tickets.ttlMs/],
    [{ maxOutstanding: 0 }, /tickets.maxOutstanding must be an integer >= 1/],
    [{ maxPerUser: 1.5 }, /tickets.maxPerUser/],
  ])('fails fast on %j', (tickets, message) => {
    expect(() => resolveSseOptions({ jwt: { secret: 's' }, tickets })).toThrow(message);
  });
});
