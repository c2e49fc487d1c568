import { Redis } from 'ioredis';

import { hasRedisServer, startRedisServer, type TestRedisServer } from '../../../../test/support/redis-server.js';
import type { SseTokenVerifier } from '../auth/sse-token.verifier.js';
import { SSE_CLAIMS_KEY } from '../auth/sse-user.js';
import { SseTicketsUnavailableError, SseTransportError } from '../sse.exceptions.js';
import { SseTicketService } from '../tickets/sse-ticket.service.js';
import type { SseTicketGrant, SseTicketStoreOptions } from '../tickets/sse-ticket-store.interface.js';
import type { SseDeliveryTarget } from '../transport/sse-transport.interface.js';
import { defineScripts } from './redis.scripts.js';
import { RedisSseTransport } from './redis.transport.js';
import { RedisTicketStore } from './redis-ticket.store.js';
import { resolveRedisTransportOptions } from './redis-transport.options.js';

const SCOPE = '/api/events';
const DEFAULTS: SseTicketStoreOptions = { ttlMs: 30_000, maxPerUser: 5, maxOutstanding: 10_000, keepClaims: false };
const nowhere: SseDeliveryTarget = { deliver: () => 0 };
const grant = (userId: string, topics: string[] = []): SseTicketGrant => ({
  user: { userId, expiresAt: Date.now() + 3_600_000 },
  claims: { sub: userId, secretClaim: 'kept only for isRevoked' },
  scope: SCOPE,
  topics,
});

const redisMissing = !hasRedisServer();
if (redisMissing && process.env.CI) throw new Error('redis-server is required in CI (.ci/run installs it)');
if (redisMissing) console.warn('libs/sse/src/redis/redis-ticket.store.spec.ts skipped: redis-server is not installed');
const describeRedis = redisMissing ? describe.skip : describe;

describeRedis('RedisTicketStore (RedisSseTransport.createTicketStore)', () => {
  let server: TestRedisServer;
  let inspect: Redis;
  let prefixes = 0;
  let prefix = '';
  const open: RedisSseTransport[] = [];

  /** An instance's store: its own transport (its own connections) on the test's prefix. */
  async function instance(options: Partial<SseTicketStoreOptions> = {}): Promise<RedisTicketStore> {
    const transport = new RedisSseTransport({ redis: server.url, keyPrefix: prefix });
    open.push(transport);
    await transport.connect(nowhere);
    return transport.createTicketStore({ ...DEFAULTS, ...options });
  }

  const redeems = async (store: RedisTicketStore, ticket: string) => (await store.redeem(ticket, SCOPE)) !== undefined;
  /** Every key and value the ticket store wrote (its keys under the prefix), as text. */
  async function dump(): Promise<string> {
    const keys = await inspect.keys(`${prefix}tk*`);
    expect(keys.length).toBeGreaterThan(0);
    const parts: string[] = [];
    for (const key of keys) {
      const type = await inspect.type(key);
      const value =
        type === 'hash'
          ? await inspect.hgetall(key)
          : type === 'zset'
            ? await inspect.zrange(key, 0, -1, 'WITHSCORES')
            : await inspect.get(key);
      parts.push(key, JSON.stringify(value));
    }
    return parts.join('\n');
  }

  beforeAll(async () => {
    server = await startRedisServer();
    inspect = new Redis(server.url, { maxRetriesPerRequest: null, disconnectTimeout: 100 });
    inspect.on('error', () => undefined);
  });

  beforeEach(() => {
    prefix = `tkt${++prefixes}:`;
  });

  const clients: Redis[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
    for (const client of clients.splice(0)) client.disconnect();
  });

  /**
   * A store whose every issue runs the issue script twice with the same arguments, as ioredis does when it
   * sends a command again after a reconnect (the first run's answer was lost with the connection).
   */
  async function replayingStore(options: Partial<SseTicketStoreOptions> = {}): Promise<RedisTicketStore> {
    const client = defineScripts(new Redis(server.url, { maxRetriesPerRequest: null }));
    clients.push(client);
    await new Promise((resolve) => client.once('ready', resolve));
    const replaying = new Proxy(client, {
      get(target, key) {
        if (key === 'sseTicketIssue') {
          return async (...args: (string | number)[]) => {
            await target.sseTicketIssue(...args);
            return target.sseTicketIssue(...args);
          };
        }
        const value = Reflect.get(target, key, target);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const { keys } = resolveRedisTransportOptions({ redis: server.url, keyPrefix: prefix });
    return new RedisTicketStore(replaying, keys, { ...DEFAULTS, ...options });
  }

  /** The counts agree with the tickets: each holder's count is what its own set holds, and they add up to all. */
  async function expectConsistentCounts(): Promise<void> {
    const holders = await inspect.zrange(`${prefix}tkh`, 0, -1, 'WITHSCORES');
    const counted: Record<string, number> = {};
    const held: Record<string, number> = {};
    for (let i = 0; i < holders.length; i += 2) {
      counted[holders[i]] = Number(holders[i + 1]);
      held[holders[i]] = await inspect.zcard(`${prefix}tku:${holders[i]}`);
    }
    expect(counted).toEqual(held);
    expect(Object.values(counted).reduce((a, b) => a + b, 0)).toBe(await inspect.zcard(`${prefix}tks`));
  }

  afterAll(async () => {
    inspect?.disconnect();
    await server?.stop();
  });

  it("issues 256-bit URL-safe tickets redeemed once, on another instance too; Redis holds neither the ticket nor (without isRevoked) the token's claims", async () => {
    const [a, b] = [await instance(), await instance()];
    const issued = await a.issue(grant('ann', ['orders/1']));
    expect(issued).toEqual({ ticket: expect.stringMatching(/^[A-Za-z0-9_-]{43}$/), expiresInMs: 30_000 });
    const stored = await dump();
    expect(stored).not.toContain(issued.ticket);
    expect(stored).not.toContain('secretClaim');
    expect(await b.redeem(issued.ticket, SCOPE)).toEqual({
      user: { userId: 'ann', expiresAt: expect.any(Number) },
      claims: {},
      scope: SCOPE,
      topics: ['orders/1'],
    });
    expect(await a.redeem(issued.ticket, SCOPE)).toBeUndefined();
    expect(await b.redeem(issued.ticket, SCOPE)).toBeUndefined();
    // Nothing left behind: the ticket, its user's list, the count.
    expect(await inspect.keys(`${prefix}tk*`)).toEqual([]);
  });

  it('keeps the claims only when jwt.isRevoked reads them (keepClaims)', async () => {
    const store = await instance({ keepClaims: true });
    const { ticket } = await store.issue(grant('cy'));
    expect((await store.redeem(ticket, SCOPE))?.claims).toEqual({ sub: 'cy', secretClaim: 'kept only for isRevoked' });
  });

  it('of 20 concurrent redemptions of one ticket from two instances, exactly one gets the grant (30 rounds)', async () => {
    const [a, b] = [await instance(), await instance()];
    for (let round = 0; round < 30; round++) {
      const { ticket } = await (round % 2 ? a : b).issue(grant(`race-${round}`));
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).redeem(ticket, SCOPE)));
      expect({ round, granted: results.filter((r) => r !== undefined).length }).toEqual({ round, granted: 1 });
    }
  });

  it('refuses a ticket past ttlMs (Redis clock), on every instance, and its key expires with it (PX)', async () => {
    const [a, b] = [await instance({ ttlMs: 300 }), await instance({ ttlMs: 300 })];
    const { ticket } = await a.issue(grant('bo'));
    const [ticketKey] = await inspect.keys(`${prefix}tk:*`);
    const pttl = await inspect.pttl(ticketKey);
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(300);
    // Waits for the expiry (bounded), looking without spending.
    const deadline = Date.now() + 2_000;
    while ((await b.peek(ticket, SCOPE)) !== undefined) {
      if (Date.now() > deadline) throw new Error('the ticket was still valid 2 s after a 300 ms ttl');
      await new Promise((r) => setTimeout(r, 25));
    }
    expect(await b.redeem(ticket, SCOPE)).toBeUndefined();
    expect(await inspect.exists(ticketKey)).toBe(0);
  });

  it('sweeps expired tickets when issuing: they stop counting toward maxOutstanding', async () => {
    const store = await instance({ ttlMs: 200, maxOutstanding: 2, maxPerUser: 2 });
    const old = await store.issue(grant('old'));
    const deadline = Date.now() + 2_000;
    while ((await store.peek(old.ticket, SCOPE)) !== undefined) {
      if (Date.now() > deadline) throw new Error('not expired');
      await new Promise((r) => setTimeout(r, 25));
    }
    const [x, y] = [await store.issue(grant('x')), await store.issue(grant('y'))];
    expect(await inspect.zcard(`${prefix}tks`)).toBe(2);
    expect([await redeems(store, x.ticket), await redeems(store, y.ticket)]).toEqual([true, true]);
  });

  it("a user holds at most maxPerUser across the cluster: the next one (from any instance) replaces that user's oldest", async () => {
    const [a, b] = [await instance({ maxPerUser: 2 }), await instance({ maxPerUser: 2 })];
    const first = await a.issue(grant('ann'));
    const second = await b.issue(grant('ann'));
    const third = await a.issue(grant('ann'));
    const other = await b.issue(grant('bo'));
    expect(await inspect.zcard(`${prefix}tks`)).toBe(3);
    expect(await redeems(b, first.ticket)).toBe(false);
    expect([await redeems(a, second.ticket), await redeems(b, third.ticket), await redeems(a, other.ticket)]).toEqual([
      true,
      true,
      true,
    ]);
  });

  it('past maxOutstanding (counted across the cluster) a new ticket replaces the oldest ticket of the user holding the most, never a refusal', async () => {
    const [a, b] = [
      await instance({ maxOutstanding: 4, maxPerUser: 3 }),
      await instance({ maxOutstanding: 4, maxPerUser: 3 }),
    ];
    const innocent = await a.issue(grant('ivy'));
    const greedy = [await b.issue(grant('gus')), await a.issue(grant('gus')), await b.issue(grant('gus'))];
    const newcomer = await a.issue(grant('nia'));
    expect(await inspect.zcard(`${prefix}tks`)).toBe(4);
    const kept = [];
    for (const t of greedy) kept.push(await redeems(b, t.ticket));
    expect(kept).toEqual([false, true, true]);
    expect(await redeems(a, innocent.ticket)).toBe(true);
    expect(await redeems(b, newcomer.ticket)).toBe(true);
    // Every count went back to nothing with the tickets.
    expect(await inspect.zcard(`${prefix}tkh`)).toBe(0);
  });

  it('an issue replayed by ioredis (the script run twice with the same arguments) counts its ticket once and makes room once: the caps hold', async () => {
    const store = await replayingStore({ maxOutstanding: 2, maxPerUser: 5 });
    const tickets = [];
    for (const userId of ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']) tickets.push(await store.issue(grant(userId)));
    expect(await inspect.zcard(`${prefix}tks`)).toBe(2);
    await expectConsistentCounts();
    // Two stand, the newest among them (each replacement took one ticket: ties go to the id that sorts last, so
    // 'a' keeps its own); a replay did not make room a second time at their expense.
    const kept = [];
    for (const t of tickets) kept.push(await redeems(store, t.ticket));
    expect(kept).toEqual([true, false, false, false, false, false, false, true]);
    // Per user too: a replayed issue is not a second ticket of the user's.
    const own = await replayingStore({ maxPerUser: 2 });
    const mine = [await own.issue(grant('pat')), await own.issue(grant('pat'))];
    expect(await inspect.zcard(`${prefix}tku:pat`)).toBe(2);
    expect([await redeems(own, mine[0].ticket), await redeems(own, mine[1].ticket)]).toEqual([true, true]);
    await expectConsistentCounts();
  });

  it('a holder counted with no tickets of its own (a drifted count) is cleared, and the globally oldest ticket goes instead: the cap holds', async () => {
    const store = await instance({ maxOutstanding: 2, maxPerUser: 5 });
    const first = await store.issue(grant('ann'));
    const second = await store.issue(grant('bo'));
    await inspect.zadd(`${prefix}tkh`, 9, 'ghost');
    const third = await store.issue(grant('cy'));
    expect(await inspect.zcard(`${prefix}tks`)).toBe(2);
    expect(await inspect.zscore(`${prefix}tkh`, 'ghost')).toBeNull();
    expect([
      await redeems(store, first.ticket),
      await redeems(store, second.ticket),
      await redeems(store, third.ticket),
    ]).toEqual([false, true, true]);
    await expectConsistentCounts();
  });

  it("never shortens the shared sets' expiry: an instance with a shorter ttlMs leaves them to the longest ticket's deadline", async () => {
    const long = await instance({ ttlMs: 60_000 });
    const short = await instance({ ttlMs: 1_000 });
    await long.issue(grant('lia'));
    await short.issue(grant('lia'));
    for (const key of ['tks', 'tkh', 'tku:lia']) {
      expect({ key, longEnough: (await inspect.pttl(`${prefix}${key}`)) > 50_000 }).toEqual({ key, longEnough: true });
    }
    // And lengthens them for a longer one.
    await instance({ ttlMs: 1_000 }).then((s) => s.issue(grant('mo')));
    expect(await inspect.pttl(`${prefix}tku:mo`)).toBeLessThanOrEqual(1_000);
    await long.issue(grant('mo'));
    expect(await inspect.pttl(`${prefix}tku:mo`)).toBeGreaterThan(50_000);
  });

  it('an issue sweeps at most 100 expired tickets (one script stays short); later issues sweep the rest', async () => {
    const store = await instance();
    const expired = Array.from({ length: 150 }, (_, i) => [1, `${String(i).padStart(43, 'x')}:gone`] as const);
    await inspect.zadd(`${prefix}tks`, ...expired.flat());
    await store.issue(grant('sid'));
    expect(await inspect.zcard(`${prefix}tks`)).toBe(51);
    await store.issue(grant('sid'));
    expect(await inspect.zcard(`${prefix}tks`)).toBe(2);
  });

  it('peek (a HEAD) gives what redeem would, spends nothing and keeps the ticket its place; a redeemed ticket then peeks as nothing', async () => {
    const [a, b] = [await instance({ maxPerUser: 2 }), await instance({ maxPerUser: 2 })];
    const first = await a.issue(grant('pia', ['jobs/1']));
    for (let i = 0; i < 3; i++)
      expect(await b.peek(first.ticket, SCOPE)).toMatchObject({ user: { userId: 'pia' }, topics: ['jobs/1'] });
    expect(await b.peek(first.ticket, '/elsewhere')).toBeUndefined();
    expect(await a.redeem(first.ticket, SCOPE)).toMatchObject({ user: { userId: 'pia' }, topics: ['jobs/1'] });
    expect(await b.peek(first.ticket, SCOPE)).toBeUndefined();
  });

  it("a ticket tried at another scope is refused and spent (two apps on one prefix never open each other's streams)", async () => {
    const store = await instance();
    const { ticket } = await store.issue(grant('sam'));
    expect(await store.redeem(ticket, '/other/events')).toBeUndefined();
    expect(await store.redeem(ticket, SCOPE)).toBeUndefined();
  });

  it.each([
    ['not a ticket', 'x'],
    ['a JWT', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln'],
    ['unknown', 'A'.repeat(43)],
  ])('finds nothing for %s', async (_, ticket) => {
    const store = await instance();
    expect(await store.redeem(ticket, SCOPE)).toBeUndefined();
    expect(await store.peek(ticket, SCOPE)).toBeUndefined();
  });

  it('with Redis stopped, issue, redeem and peek fail with SseTransportError (within the 2 s answer bound, then at once), which SseTicketService answers 503; back when Redis is', async () => {
    const store = await instance();
    const { ticket } = await store.issue(grant('dan'));
    const service = new SseTicketService(store, SCOPE, {} as SseTokenVerifier);
    await server.stop();
    try {
      // A command sent before the connection noticed waits for its answer at most 2 s; once it noticed, at once.
      const first = Date.now();
      await expect(store.issue(grant('dan'))).rejects.toThrow(SseTransportError);
      expect(Date.now() - first).toBeLessThan(2_500);
      const started = Date.now();
      await expect(store.redeem(ticket, SCOPE)).rejects.toThrow(SseTransportError);
      await expect(store.peek(ticket, SCOPE)).rejects.toThrow(SseTransportError);
      expect(Date.now() - started).toBeLessThan(500);
      const request = { headers: {}, method: 'GET' };
      await expect(service.redeem(ticket, request)).rejects.toThrow(SseTicketsUnavailableError);
      await expect(service.redeem(ticket, request)).rejects.toMatchObject({ status: 503 });
    } finally {
      await server.restart();
    }
    // Restarted empty (no persistence): the ticket is gone, new ones work once the connection is back.
    const deadline = Date.now() + 10_000;
    let fresh: string | undefined;
    while (fresh === undefined) {
      fresh = await store.issue(grant('dan')).then(
        (t) => t.ticket,
        () => undefined,
      );
      if (fresh === undefined && Date.now() > deadline) throw new Error('the store did not come back within 10 s');
      if (fresh === undefined) await new Promise((r) => setTimeout(r, 50));
    }
    expect(await redeems(store, fresh)).toBe(true);
  }, 30_000);

  it('an error reply (READONLY: a replica of a dead master) is SseTransportError with a fixed message (no arguments), which SseTicketService answers 503; the ticket is not spent', async () => {
    const store = await instance();
    const { ticket } = await store.issue(grant('eve'));
    const service = new SseTicketService(store, SCOPE, {} as SseTokenVerifier);
    await inspect.replicaof('127.0.0.1', 1);
    try {
      const issuing = await store.issue(grant('eve')).catch((err: unknown) => err);
      expect(issuing).toBeInstanceOf(SseTransportError);
      expect((issuing as Error).message).toBe('Redis refused a ticket command (READONLY)');
      const redeeming = await store.redeem(ticket, SCOPE).catch((err: unknown) => err);
      expect(redeeming).toBeInstanceOf(SseTransportError);
      expect((redeeming as Error).message).toBe('Redis refused a ticket command (READONLY)');
      await expect(service.redeem(ticket, { method: 'GET' })).rejects.toMatchObject({ status: 503 });
      await expect(
        service.issue({ headers: {}, sseUser: { userId: 'eve' }, [SSE_CLAIMS_KEY]: {} } as never),
      ).rejects.toMatchObject({ status: 503 });
    } finally {
      await inspect.replicaof('NO', 'ONE');
    }
    expect(await redeems(store, ticket)).toBe(true);
  });

  it('an error reply (OOM: maxmemory 1, noeviction) refuses an issue with SseTransportError, a 503 from SseTicketService', async () => {
    const store = await instance();
    const service = new SseTicketService(store, SCOPE, {} as SseTokenVerifier);
    await inspect.config('SET', 'maxmemory-policy', 'noeviction');
    await inspect.config('SET', 'maxmemory', '1');
    try {
      const issuing = await store.issue(grant('oom')).catch((err: unknown) => err);
      expect(issuing).toBeInstanceOf(SseTransportError);
      expect((issuing as Error).message).toBe('Redis refused a ticket command (OOM)');
      await expect(
        service.issue({ headers: {}, sseUser: { userId: 'oom' }, [SSE_CLAIMS_KEY]: {} } as never),
      ).rejects.toMatchObject({ status: 503 });
    } finally {
      await inspect.config('SET', 'maxmemory', '0');
    }
    expect(await redeems(store, (await store.issue(grant('oom'))).ticket)).toBe(true);
  });

  it('after SCRIPT FLUSH (Redis lost its script cache) tickets still issue and redeem: ioredis sends the script again', async () => {
    const store = await instance();
    const { ticket } = await store.issue(grant('fay'));
    await inspect.script('FLUSH');
    expect(await redeems(store, ticket)).toBe(true);
    await inspect.script('FLUSH');
    const again = await store.issue(grant('fay'));
    expect(await redeems(store, again.ticket)).toBe(true);
  });
});
