import { jest } from '@jest/globals';
import { resolveSseOptions } from './sse-options.resolver.js';
import type { SseTicketOptions } from './sse-options.interface.js';
import { SseTicketStore } from './sse-ticket.store.js';
import { SseTicketLimitError } from './sse.exceptions.js';

const SCOPE = '/api/events';
const store = (tickets: SseTicketOptions = {}) => new SseTicketStore(resolveSseOptions({ jwt: { secret: 's' }, tickets }));
const grant = (userId: string) => ({ user: { userId, expiresAt: Date.now() + 3_600_000 }, claims: { sub: userId }, scope: SCOPE, topics: ['orders/1'] });

describe('SseTicketStore', () => {
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

  it('refuses a ticket once ttlMs has passed, and sweeps it on the next issue, freeing its user', () => {
    const tickets = store({ ttlMs: 1_000, maxPerUser: 1 });
    const first = tickets.issue(grant('bo'));
    expect(() => tickets.issue(grant('bo'))).toThrow(SseTicketLimitError);
    jest.advanceTimersByTime(1_000);
    // Expired and never redeemed: the sweep drops it, and bo may hold one again.
    const second = tickets.issue(grant('bo'));
    expect(tickets.size).toBe(1);
    expect(tickets.redeem(first.ticket, SCOPE)).toBeUndefined();
    jest.advanceTimersByTime(999);
    expect(tickets.redeem(second.ticket, SCOPE)).toBeDefined();
  });

  it('holds at most maxOutstanding tickets, and maxPerUser for one user', () => {
    const tickets = store({ maxOutstanding: 3, maxPerUser: 2 });
    tickets.issue(grant('a'));
    tickets.issue(grant('a'));
    expect(() => tickets.issue(grant('a'))).toThrow(expect.objectContaining({ scope: 'user', limit: 2 }));
    tickets.issue(grant('b'));
    expect(() => tickets.issue(grant('c'))).toThrow(expect.objectContaining({ scope: 'server', limit: 3 }));
    expect(tickets.size).toBe(3);
  });

  it("keeps a token's claims only when jwt.isRevoked will read them", () => {
    const plain = store();
    expect(plain.redeem(plain.issue(grant('cy')).ticket, SCOPE)?.claims).toEqual({});
    const revocable = new SseTicketStore(
      resolveSseOptions({ jwt: { secret: 's', isRevoked: () => false }, tickets: {} }),
    );
    expect(revocable.redeem(revocable.issue(grant('cy')).ticket, SCOPE)?.claims).toEqual({ sub: 'cy' });
  });

  it.each([
    ['not a ticket', 'x'],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln'],
    ['too long', 'A'.repeat(44)],
  ])('finds nothing for %s', (_, ticket) => {
    expect(store().redeem(ticket, SCOPE)).toBeUndefined();
  });
});

describe('tickets options', () => {
  it('defaults to 30 s, 10,000 outstanding, 10 per user', () => {
    expect(resolveSseOptions({ jwt: { secret: 's' } }).tickets).toEqual({ ttlMs: 30_000, maxOutstanding: 10_000, maxPerUser: 10 });
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
