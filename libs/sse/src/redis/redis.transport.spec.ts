import { compareEventIds, parseEventId, type SseEventId } from '@nest-sse/protocol';
import { Redis } from 'ioredis';

import { ConditionWaiter } from '../../../../test/support/condition-waiter.js';
import { hasRedisServer, startRedisServer, type TestRedisServer } from '../../../../test/support/redis-server.js';
import { SseEventError, SseTransportError } from '../sse.exceptions.js';
import type { SseAudience, SseDeliveryTarget, SseOutgoingEvent } from '../transport/sse-transport.interface.js';
import type { SseFrame } from '../wire/sse-frame.js';
import { defineScripts } from './redis.scripts.js';
import { RedisSseTransport } from './redis.transport.js';
import type { RedisSseTransportOptions } from './redis-transport.options.js';

/** An instance's streams, as the transport sees them: every delivery, in order. */
class Collector implements SseDeliveryTarget {
  readonly got: { audience: SseAudience; frame: SseFrame }[] = [];
  private readonly waiter = new ConditionWaiter();

  deliver(audience: SseAudience, frame: SseFrame): number {
    this.got.push({ audience, frame });
    this.waiter.notify();
    return 0;
  }

  get ids(): string[] {
    return this.got.map(({ frame }) => frame.id!);
  }

  get data(): string[] {
    return this.got.map(({ frame }) => frame.data!);
  }

  /** Resolves once `count` frames were delivered; the timeout's error says what came. */
  until(count: number, what: string, timeoutMs = 5000): Promise<void> {
    return this.untilSeen(() => this.got.length >= count, `${count} deliveries (${what})`, timeoutMs);
  }

  /** Resolves once `predicate` holds, checked at each delivery; the timeout's error says what came. */
  async untilSeen(predicate: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
    try {
      await this.waiter.until(predicate, timeoutMs, what);
    } catch (err) {
      const got = this.got.map(({ frame }) => `${frame.type}:${frame.data}@${frame.id}`);
      throw new Error(`${(err as Error).message}; got ${got.length}: ${got.join(' ')}`);
    }
  }
}

const ids = (frames: readonly { id?: string }[]) => frames.map((f) => f.id!);
const id = (text: string): SseEventId => parseEventId(text)!;
const toUser = (userId: string, data: unknown): SseOutgoingEvent => ({
  audience: { kind: 'users', userIds: [userId] },
  type: 'note',
  data: JSON.stringify(data),
});
const toAll = (data: unknown): SseOutgoingEvent => ({
  audience: { kind: 'all' },
  type: 'news',
  data: JSON.stringify(data),
});
const toTopic = (topic: string, data: unknown): SseOutgoingEvent => ({
  audience: { kind: 'topic', topic },
  type: 'order',
  data: JSON.stringify(data),
});

async function waitFor(check: () => Promise<boolean> | boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Script calls Redis ran since the last `CONFIG RESETSTAT`: how many batches the publishes went in. */
async function scriptCalls(client: Redis): Promise<number> {
  const stats = await client.info('commandstats');
  return [...stats.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+)/gm)].reduce(
    (sum, [, calls]) => sum + Number(calls),
    0,
  );
}

const redisMissing = !hasRedisServer();
if (redisMissing && process.env.CI) throw new Error('redis-server is required in CI (.ci/run installs it)');
if (redisMissing)
  console.warn(
    'libs/sse/src/redis/redis.transport.spec.ts skipped: redis-server is not installed (apt-get install redis-server)',
  );
const describeRedis = redisMissing ? describe.skip : describe;

describeRedis('RedisSseTransport', () => {
  let server: TestRedisServer;
  /** A plain client on the test's Redis, to look at keys. */
  let inspect: Redis;
  const open: RedisSseTransport[] = [];
  let prefixes = 0;

  /** A connected transport on its own key prefix (unless `keyPrefix` is given): tests do not see each other's events. */
  async function transport(
    options: Partial<RedisSseTransportOptions> = {},
    target: SseDeliveryTarget = new Collector(),
  ): Promise<RedisSseTransport> {
    const t = new RedisSseTransport({
      redis: server.url,
      ...options,
      keyPrefix: options.keyPrefix ?? `t${++prefixes}:`,
    });
    open.push(t);
    await t.connect(target);
    return t;
  }

  beforeAll(async () => {
    server = await startRedisServer();
    inspect = new Redis(server.url, { maxRetriesPerRequest: null, disconnectTimeout: 100 });
    inspect.on('error', () => undefined);
  });

  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
  });

  afterAll(async () => {
    inspect?.disconnect();
    await server?.stop();
  });

  describe('delivery', () => {
    it('gives two instances on one Redis every event once, in one order, with increasing Redis ids (and nothing more within 300 ms)', async () => {
      const [a, b] = [new Collector(), new Collector()];
      const first = await transport({}, a);
      const second = await transport({ keyPrefix: `t${prefixes}:` }, b);
      for (let i = 0; i < 100; i++) (i % 2 ? first : second).publish(toUser(`u${i % 3}`, i));
      await a.until(100, 'instance a');
      await b.until(100, 'instance b');
      expect(a.ids).toEqual(b.ids);
      expect(new Set(a.ids).size).toBe(100);
      const sorted = [...a.ids].sort((x, y) => {
        const [p, q] = [id(x), id(y)];
        return p.ms - q.ms || p.seq - q.seq;
      });
      expect(a.ids).toEqual(sorted);
      // Each publisher's own events keep their publish order.
      const fromFirst = a.data.map(Number).filter((n) => n % 2 === 1);
      expect(fromFirst).toEqual([...fromFirst].sort((x, y) => x - y));
      expect(first.position()).toBe(a.ids[99]);
      expect(second.position()).toBe(a.ids[99]);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(a.got).toHaveLength(100);
      expect(b.got).toHaveLength(100);
    });

    it("writes one turn's publishes from two interleaved publishers in a few script calls: each event once on both instances and in its history logs, each publisher's in order, ids increasing", async () => {
      const [a, b] = [new Collector(), new Collector()];
      const first = await transport({}, a);
      const second = await transport({ keyPrefix: `t${prefixes}:` }, b);
      const start = id(first.position());
      const audienceOf = (i: number): SseAudience =>
        i % 4 === 0
          ? { kind: 'users', userIds: ['u0', 'u1'] }
          : i % 4 === 1
            ? { kind: 'users', userIds: [`u${i % 3}`] }
            : i % 4 === 2
              ? { kind: 'topic', topic: 'x' }
              : { kind: 'all' };
      const n = 1200;
      await inspect.config('RESETSTAT');
      for (let i = 0; i < n; i++) {
        first.publish({ audience: audienceOf(i), type: 'a', data: String(i) });
        second.publish({ audience: audienceOf(i), type: 'b', data: String(i) });
      }
      await a.until(2 * n, 'instance a', 10_000);
      await b.until(2 * n, 'instance b', 10_000);
      // 500 events a batch: 3 per publisher (one call each), not one per event.
      expect(await scriptCalls(inspect)).toBe(6);
      expect(a.ids).toEqual(b.ids);
      expect(new Set(a.ids).size).toBe(2 * n);
      for (let k = 1; k < a.ids.length; k++) expect(compareEventIds(id(a.ids[k - 1]), id(a.ids[k]))).toBeLessThan(0);
      for (const type of ['a', 'b']) {
        const mine = a.got.filter(({ frame }) => frame.type === type);
        expect(mine.map(({ frame }) => Number(frame.data))).toEqual([...Array(n).keys()]);
        expect(mine.map(({ audience }) => audience)).toEqual([...Array(n).keys()].map(audienceOf));
      }
      // Each history log got its events with the cluster log's ids: u0's, the broadcasts' and x's, merged.
      const forU0 = a.got.filter(({ audience }) => audience.kind !== 'users' || audience.userIds.includes('u0'));
      const replay = await first.history.replay('u0', start, ['x']);
      expect(replay.ok && replay.frames.map((f) => [f.id, f.type, f.data])).toEqual(
        forU0.map(({ frame }) => [frame.id, frame.type, frame.data]),
      );
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(a.got).toHaveLength(2 * n);
      expect(b.got).toHaveLength(2 * n);
    });

    it('starts a new batch before one would pass its bounds of data (~1 MB) or of stream writes (2000)', async () => {
      const collector = new Collector();
      const t = await transport({}, collector);
      await inspect.config('RESETSTAT');
      const big = JSON.stringify('x'.repeat(300_000));
      // 600 000 characters each (log and history): two would pass 1 MB.
      for (let i = 0; i < 3; i++) t.publish({ audience: { kind: 'users', userIds: ['ann'] }, type: 'big', data: big });
      // 1501 and 601 writes: together past 2000 (the first joins the last big event's batch: 1503 writes, ~600 000 characters).
      const users = (count: number) => Array.from({ length: count }, (_, i) => `m${i}`);
      t.publish({ audience: { kind: 'users', userIds: users(1500) }, type: 'many', data: '1' });
      t.publish({ audience: { kind: 'users', userIds: users(600) }, type: 'many', data: '2' });
      await collector.until(5, 'five events', 10_000);
      expect(await scriptCalls(inspect)).toBe(4);
      expect(collector.got.map(({ frame }) => frame.type)).toEqual(['big', 'big', 'big', 'many', 'many']);
      expect(await inspect.xlen(`t${prefixes}:h:u:m1499`)).toBe(1);
      expect(await inspect.xlen(`t${prefixes}:h:u:m599`)).toBe(2);
    });

    it('hands each event over with its audience, type and data as published', async () => {
      const collector = new Collector();
      const t = await transport({}, collector);
      t.publish({ audience: { kind: 'users', userIds: ['a', 'b:c', 'a'] }, type: 'note', data: '{"x":"é\\n"}' });
      t.publish(toTopic('orders/1', 1));
      t.publish(toAll(null));
      await collector.until(3, 'three audiences');
      expect(collector.got.map(({ audience }) => audience)).toEqual([
        { kind: 'users', userIds: ['a', 'b:c'] },
        { kind: 'topic', topic: 'orders/1' },
        { kind: 'all' },
      ]);
      expect(collector.got.map(({ frame }) => [frame.type, frame.data])).toEqual([
        ['note', '{"x":"é\\n"}'],
        ['order', '1'],
        ['news', 'null'],
      ]);
    });

    it('starts after what the log held at bootstrap: position() is its newest id, older events are not delivered', async () => {
      const earlier = new Collector();
      const before = await transport({}, earlier);
      before.publish(toAll('old'));
      await earlier.until(1, 'the old event');
      const [newest] = await inspect.xrevrange(`t${prefixes}:log`, '+', '-', 'COUNT', 1);
      const collector = new Collector();
      const later = await transport({ keyPrefix: `t${prefixes}:` }, collector);
      expect(later.position()).toBe(newest[0]);
      later.publish(toAll('new'));
      await collector.until(1, 'the new event');
      expect(collector.data).toEqual(['"new"']);
    });

    it('starts a fresh log with a position below every id it will issue, so a client holding it misses nothing', async () => {
      const collector = new Collector();
      const t = await transport({}, collector);
      const start = t.position();
      expect(parseEventId(start)).toBeDefined();
      t.publish(toUser('u', 1));
      await collector.until(1, 'the first event');
      const replay = await t.history.replay('u', id(start));
      expect(replay).toEqual({ ok: true, frames: [expect.objectContaining({ id: collector.ids[0], data: '1' })] });
    });

    it("refuses a caller's own id (Redis gives ids) with SseEventError, and sends nothing", async () => {
      const collector = new Collector();
      const t = await transport({}, collector);
      expect(() => t.publish({ ...toAll(1), id: 'mine' })).toThrow(SseEventError);
      t.publish(toAll(2));
      await collector.until(1, 'the next event');
      expect(collector.data).toEqual(['2']);
    });
  });

  describe('history', () => {
    it("replays a user's events, broadcasts and subscribed topics after an id, in id order, each once", async () => {
      const collector = new Collector();
      const t = await transport({}, collector);
      t.publish(toUser('ann', 'a0'));
      t.publish(toUser('bob', 'b0'));
      t.publish(toAll('all1'));
      t.publish({ audience: { kind: 'users', userIds: ['ann', 'bob'] }, type: 'note', data: '"both"' });
      t.publish(toTopic('x', 'x1'));
      t.publish(toTopic('y', 'y1'));
      t.publish(toUser('ann', 'a1'));
      await collector.until(7, 'seven events');
      const [a0] = collector.ids;
      const replay = async (userId: string, after: string, topics?: string[]) => {
        const result = await t.history.replay(userId, id(after), topics);
        if (!result.ok) throw new Error(result.reason);
        return result.frames.map((f) => JSON.parse(f.data!));
      };
      expect(await replay('ann', a0)).toEqual(['all1', 'both', 'a1']);
      expect(await replay('ann', a0, ['x', 'x'])).toEqual(['all1', 'both', 'x1', 'a1']);
      expect(await replay('bob', a0, ['y'])).toEqual(['b0', 'all1', 'both', 'y1']);
      expect(await replay('ann', collector.ids[3])).toEqual(['a1']);
      expect(await replay('ann', collector.ids[6])).toEqual([]);
      expect(await replay('nobody', a0)).toEqual(['all1']);
      // The frames come back with their ids, as live streams got them.
      const result = await t.history.replay('ann', id(a0));
      expect(result.ok && ids(result.frames)).toEqual([collector.ids[2], collector.ids[3], collector.ids[6]]);
    });

    it('answers unknown-id for ids past the newest event, and from before the history began', async () => {
      const collector = new Collector();
      const t = await transport({}, collector);
      t.publish(toUser('ann', 1));
      await collector.until(1, 'one event');
      const newest = id(collector.ids[0]);
      expect(await t.history.replay('ann', { ms: newest.ms, seq: newest.seq + 1 })).toEqual({
        ok: false,
        reason: 'unknown-id',
      });
      expect(await t.history.replay('ann', { ms: newest.ms + 60_000, seq: 0 })).toEqual({
        ok: false,
        reason: 'unknown-id',
      });
      expect(await t.history.replay('ann', { ms: 1, seq: 0 })).toEqual({ ok: false, reason: 'unknown-id' });
    });

    it('keeps maxEvents per log exactly: a resume from before what a log dropped is too-old, from its last dropped id is not', async () => {
      const collector = new Collector();
      const t = await transport({ history: { maxEvents: 3 } }, collector);
      for (let i = 0; i < 5; i++) t.publish(toUser('ann', i));
      t.publish(toTopic('x', 'x'));
      await collector.until(6, 'six events');
      expect(await inspect.xlen(`t${prefixes}:h:u:ann`)).toBe(3);
      expect(await t.history.replay('ann', id(collector.ids[0]))).toEqual({ ok: false, reason: 'too-old' });
      const kept = await t.history.replay('ann', id(collector.ids[1]), ['x']);
      expect(kept.ok && kept.frames.map((f) => f.data)).toEqual(['2', '3', '4', '"x"']);
      // Another user's full log does not concern ann's resume, but it does its owner's.
      for (let i = 0; i < 4; i++) t.publish(toUser('bob', i));
      await collector.until(10, 'bob events');
      expect((await t.history.replay('ann', id(collector.ids[1]))).ok).toBe(true);
      expect(await t.history.replay('bob', id(collector.ids[5]))).toEqual({ ok: false, reason: 'too-old' });
    });

    it('answers too-old past ttlMs, and lets logs nobody writes to expire', async () => {
      const collector = new Collector();
      const t = await transport({ history: { ttlMs: 300 } }, collector);
      t.publish(toUser('ann', 1));
      t.publish(toUser('ann', 2));
      await collector.until(2, 'two events');
      expect((await t.history.replay('ann', id(collector.ids[0]))).ok).toBe(true);
      await waitFor(async () => (await inspect.exists(`t${prefixes}:h:u:ann`)) === 0, "ann's log to expire", 2000);
      expect(await t.history.replay('ann', id(collector.ids[0]))).toEqual({ ok: false, reason: 'too-old' });
    });

    it('waits for its reader when a client resumes from an id another instance delivered first', async () => {
      const collector = new Collector();
      const t = await transport({}, collector);
      t.publish(toUser('ann', 1));
      await collector.until(1, 'one event');
      // Written straight into the logs, as another instance's publish: this reader has not read it yet.
      const later = await inspect.xadd(`t${prefixes}:log`, '*', 'type', 'note', 'data', '2', 'u', '["ann"]');
      await inspect.xadd(`t${prefixes}:h:u:ann`, later!, 'type', 'note', 'data', '2');
      const result = await t.history.replay('ann', id(later!));
      expect(result).toEqual({ ok: true, frames: [] });
      expect(t.position()).toBe(later);
    });
  });

  describe('presence', () => {
    it('holds the per-user limit across instances, counts the cluster, and gives slots back on release', async () => {
      const one = await transport();
      const two = await transport({ keyPrefix: `t${prefixes}:` });
      const a = await one.presence.acquire('ann', 2);
      const b = await two.presence.acquire('ann', 2);
      expect(a && b).toBeTruthy();
      expect(await one.presence.acquire('ann', 2)).toBeUndefined();
      expect(await two.presence.acquire('ann', 2)).toBeUndefined();
      expect(await two.presence.acquire('bob', 2)).toBeDefined();
      expect(await one.presence.count('ann')).toBe(2);
      expect(await two.presence.count()).toBe(3);
      b!.release();
      b!.release();
      await waitFor(async () => (await one.presence.count('ann')) === 1, 'the released slot gone');
      expect(await one.presence.acquire('ann', 2)).toBeDefined();
      expect(await one.presence.count()).toBe(3);
    });

    it("frees a crashed instance's slots within slotTtlMs, and keeps a live instance's slots past it (bound: 4 x slotTtlMs)", async () => {
      const timing = { slotTtlMs: 400, slotRefreshMs: 100 };
      const live = await transport(timing);
      const crashing = await transport({ ...timing, keyPrefix: `t${prefixes}:` });
      await live.presence.acquire('ann', 5);
      await crashing.presence.acquire('ann', 5);
      await crashing.presence.acquire('bob', 5);
      expect(await live.presence.count()).toBe(3);
      // Its connections go and its renewals stop, without releasing: what a crash leaves behind.
      await crashing.close();
      const since = Date.now();
      await waitFor(async () => (await live.presence.count()) === 1, "the crashed instance's slots to expire", 2000);
      expect(Date.now() - since).toBeLessThan(timing.slotTtlMs + 300);
      expect(await live.presence.count('bob')).toBe(0);
      await new Promise((resolve) => setTimeout(resolve, 4 * timing.slotTtlMs));
      expect(await live.presence.count('ann')).toBe(1);
    });
  });

  describe('Redis outages', () => {
    it('queues publishes up to maxPendingPublishes while Redis is away and delivers them once it is back (Redis came back empty: after a history-lost reset); refuses past it; the reader resumes', async () => {
      const collector = new Collector();
      const t = await transport({ maxPendingPublishes: 5 }, collector);
      t.publish(toAll('before'));
      await collector.until(1, 'the event before the outage');
      await waitFor(() => t.pendingPublishCount() === 0, 'Redis to acknowledge the event before the outage');
      await server.stop();
      try {
        await waitFor(
          async () =>
            t.presence.count().then(
              () => false,
              (err) => err instanceof SseTransportError,
            ),
          'the transport to see Redis gone',
        );
        for (let i = 0; i < 5; i++) expect(t.publish(toUser('ann', i))).toBeUndefined();
        expect(() => t.publish(toUser('ann', 5))).toThrow(SseTransportError);
        expect(t.pendingPublishCount()).toBe(5);
        await expect(t.presence.acquire('ann', 5)).rejects.toThrow(SseTransportError);
        await expect(t.history.replay('ann', id(collector.ids[0]))).rejects.toThrow(/unreachable/);
      } finally {
        await server.restart();
      }
      await collector.until(7, 'a reset and the queued events after Redis came back', 10_000);
      // Redis came back empty (it keeps nothing on disk): the streams are told, before what was queued meanwhile.
      expect(collector.got[1].frame.type).toBe('reset');
      expect(JSON.parse(collector.data[1])).toMatchObject({ reason: 'history-lost' });
      expect(collector.data.filter((_, k) => k !== 1)).toEqual(['"before"', '0', '1', '2', '3', '4']);
      t.publish(toAll('after'));
      await collector.until(8, 'an event published after the outage');
      expect(collector.data[7]).toBe('"after"');
      expect(t.failedPublishCount()).toBe(0);
      // Ids from before are from a history Redis lost.
      expect(await t.history.replay('ann', id(collector.ids[0]))).toEqual({ ok: false, reason: 'history-lost' });
      const resumed = await t.history.replay('ann', id(collector.ids[2]));
      expect(resumed.ok && resumed.frames.map((f) => f.data)).toEqual(['1', '2', '3', '4', '"after"']);
    });

    it('counts maxPendingPublishes per event across batches: 3 in one turn and 2 in the next fill a bound of 5, and arrive in order once Redis is back', async () => {
      const collector = new Collector();
      const t = await transport({ maxPendingPublishes: 5 }, collector);
      await server.stop();
      try {
        await waitFor(
          async () =>
            t.presence.count().then(
              () => false,
              (err) => err instanceof SseTransportError,
            ),
          'the transport to see Redis gone',
        );
        for (let i = 0; i < 3; i++) t.publish(toUser('ann', i));
        // The first batch is handed to the client (its offline queue) before the next turn's publishes.
        await new Promise((resolve) => setImmediate(resolve));
        await new Promise((resolve) => setImmediate(resolve));
        expect(t.pendingPublishCount()).toBe(3);
        t.publish(toUser('ann', 3));
        t.publish(toUser('ann', 4));
        expect(() => t.publish(toUser('ann', 5))).toThrow(SseTransportError);
        expect(t.pendingPublishCount()).toBe(5);
      } finally {
        await server.restart();
      }
      await collector.until(6, 'a reset and the queued events after Redis came back', 10_000);
      // Redis came back empty: a history-lost reset first (see above).
      expect(collector.got[0].frame.type).toBe('reset');
      expect(collector.data.slice(1)).toEqual(['0', '1', '2', '3', '4']);
      await waitFor(() => t.pendingPublishCount() === 0, 'nothing pending');
      expect(t.failedPublishCount()).toBe(0);
    });

    it('counts every event of a batch Redis refuses as failed', async () => {
      const collector = new Collector();
      const t = await transport({}, collector);
      // A cluster log that is no Stream: the script's first write fails.
      await inspect.set(`t${prefixes}:log`, 'not a stream');
      t.publish(toUser('ann', 1));
      t.publish(toTopic('x', 2));
      t.publish(toAll(3));
      await waitFor(() => t.failedPublishCount() === 3, 'three failed publishes');
      expect(t.pendingPublishCount()).toBe(0);
    });

    it('counts and logs what is still waiting at close() as failed, never dropping it unseen', async () => {
      const t = await transport({ maxPendingPublishes: 5 });
      await server.stop();
      try {
        await waitFor(
          async () =>
            t.presence.count().then(
              () => false,
              () => true,
            ),
          'the transport to see Redis gone',
        );
        t.publish(toAll(1));
        t.publish(toAll(2));
        await t.close();
        await waitFor(() => t.failedPublishCount() === 2, 'both publishes failed');
        expect(() => t.publish(toAll(3))).toThrow(SseTransportError);
      } finally {
        await server.restart();
      }
    });

    it('fails connect() after connectTimeoutMs when Redis is not there, and leaves nothing running', async () => {
      await server.stop();
      try {
        const t = new RedisSseTransport({ redis: server.url, connectTimeoutMs: 300 });
        await expect(t.connect(new Collector())).rejects.toThrow(SseTransportError);
      } finally {
        await server.restart();
      }
    });
  });

  describe('options', () => {
    it('fails fast on options that could not work', () => {
      expect(() => new RedisSseTransport({} as RedisSseTransportOptions)).toThrow(/redis/);
      expect(() => new RedisSseTransport({ redis: 'redis://x', maxPendingPublishes: 0 })).toThrow(
        /maxPendingPublishes/,
      );
      expect(() => new RedisSseTransport({ redis: 'redis://x', history: { maxEvents: 1.5 } })).toThrow(
        /history.maxEvents/,
      );
      expect(() => new RedisSseTransport({ redis: 'redis://x', slotTtlMs: 1000, slotRefreshMs: 1000 })).toThrow(
        /slotRefreshMs/,
      );
    });

    it('works from a client it is given, without using or closing that client', async () => {
      const given = new Redis(server.url);
      try {
        const collector = new Collector();
        const t = await transport({ redis: given }, collector);
        t.publish(toAll(1));
        await collector.until(1, 'an event');
        await t.close();
        expect(given.status).toBe('ready');
        expect(await given.ping()).toBe('PONG');
      } finally {
        given.disconnect();
      }
    });
  });
});

/**
 * Redis restarted under running instances, from what it kept on disk. Each test has its own
 * redis-server (its own directory), killed with SIGKILL (nothing saved on the way out) and started again.
 */
describeRedis('RedisSseTransport across a Redis restart', () => {
  const open: RedisSseTransport[] = [];
  let server: TestRedisServer | undefined;
  let inspect: Redis | undefined;

  async function redisKeeping(
    persistence: 'none' | 'rdb' | 'aof',
  ): Promise<{ server: TestRedisServer; inspect: Redis }> {
    server = await startRedisServer({ persistence });
    inspect = new Redis(server.url, { maxRetriesPerRequest: null, disconnectTimeout: 100 });
    inspect.on('error', () => undefined);
    return { server, inspect };
  }

  async function transport(
    url: string,
    target: SseDeliveryTarget,
    options: Partial<RedisSseTransportOptions> = {},
  ): Promise<RedisSseTransport> {
    const t = new RedisSseTransport({ redis: url, keyPrefix: 'restart:', ...options });
    open.push(t);
    await t.connect(target);
    return t;
  }

  afterEach(async () => {
    await Promise.all(open.splice(0).map((t) => t.close()));
    inspect?.disconnect();
    await server?.dispose();
    server = inspect = undefined;
  });

  /**
   * Redis answered every publish of `t`: none is in flight when Redis is killed. (One whose answer is lost
   * with the connection is sent again by ioredis: written once if Redis kept it, again if Redis lost it.)
   */
  const acknowledged = (t: RedisSseTransport) =>
    waitFor(() => t.pendingPublishCount() === 0, 'Redis to answer every publish');

  /** What an instance's streams were handed, in order: each event's data, and `reset:<reason>` for a reset. */
  const seen = (collector: Collector) =>
    collector.got.map(({ frame }) =>
      frame.type === 'reset' ? `reset:${JSON.parse(frame.data!).reason}` : JSON.parse(frame.data!),
    );
  const note = (data: string) => toUser('ann', data);
  /** Every id an instance's streams got is above the one before: none repeated, none older. */
  function expectIncreasing(collector: Collector): void {
    for (let k = 1; k < collector.ids.length; k++)
      expect(compareEventIds(id(collector.ids[k - 1]), id(collector.ids[k]))).toBeLessThan(0);
  }

  /**
   * The issue's steps on a publishing and a reading instance: a1-a3, SAVE, b1-b2, SIGKILL, restart from the dump,
   * then c1: at once (it waits in the publishing connection's queue, or races the instances' reconnects), or once
   * something more reached both instances (what they make of the restarted Redis on their own, as in the issue,
   * where c1 came from a person after the restart).
   */
  async function snapshotRestart(c1: 'at once' | 'after the instances are back'): Promise<Collector[]> {
    const { server, inspect } = await redisKeeping('rdb');
    const [publisher, reader] = [new Collector(), new Collector()];
    const t = await transport(server.url, publisher);
    await transport(server.url, reader);
    for (const data of ['a1', 'a2', 'a3']) t.publish(note(data));
    await publisher.until(3, 'a1-a3');
    await inspect.save();
    for (const data of ['b1', 'b2']) t.publish(note(data));
    await publisher.until(5, 'b1-b2');
    await reader.until(5, 'b1-b2 on the reading instance');

    await acknowledged(t);
    await server.restart();
    if (c1 === 'after the instances are back') {
      for (const collector of [publisher, reader])
        await collector.until(6, 'a delivery after b2, before c1 was published', 10_000);
    }
    t.publish(note('c1'));
    for (const collector of [publisher, reader]) {
      await collector.untilSeen(() => collector.got.some(({ frame }) => frame.data === '"c1"'), 'c1', 10_000);
    }
    return [publisher, reader];
  }

  it.each(['after the instances are back', 'at once'] as const)(
    'from an older snapshot (RDB), c1 published %s: a publishing and a reading instance each deliver a1 a2 a3 b1 b2, then one history-lost reset (the same id on both), then c1: never an id at or before one they delivered',
    async (when) => {
      const [publisher, reader] = await snapshotRestart(when);
      for (const collector of [publisher, reader]) {
        expect(seen(collector)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'reset:history-lost', 'c1']);
        expect(collector.got[5].audience).toEqual({ kind: 'all' });
        expectIncreasing(collector);
      }
      expect(reader.ids).toEqual(publisher.ids);
    },
  );

  it('from its append-only file (appendfsync always, nothing lost): a1 … c1 delivered once each, in order, no reset (and nothing more within 500 ms)', async () => {
    const { server, inspect } = await redisKeeping('aof');
    const collector = new Collector();
    const t = await transport(server.url, collector);
    for (const data of ['a1', 'a2', 'a3']) t.publish(note(data));
    await collector.until(3, 'a1-a3');
    await inspect.save();
    for (const data of ['b1', 'b2']) t.publish(note(data));
    await collector.until(5, 'b1-b2');

    await acknowledged(t);
    await server.restart();
    t.publish(note('c1'));
    await collector.until(6, 'c1', 10_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(seen(collector)).toEqual(['a1', 'a2', 'a3', 'b1', 'b2', 'c1']);
    expectIncreasing(collector);
    // A resume from before the restart replays from Redis, which kept everything.
    const resumed = await t.history.replay('ann', id(collector.ids[3]));
    expect(resumed.ok && resumed.frames.map((f) => f.data)).toEqual(['"b2"', '"c1"']);
  });

  it('empty (no persistence): no event twice, a history-lost reset, then what was published while it was away and after', async () => {
    const { server } = await redisKeeping('none');
    const collector = new Collector();
    const t = await transport(server.url, collector);
    for (const data of ['a1', 'a2']) t.publish(note(data));
    await collector.until(2, 'a1-a2');

    await acknowledged(t);
    await server.stop();
    t.publish(note('queued'));
    await server.restart();
    t.publish(note('c1'));
    await collector.until(5, 'a reset, the queued event and c1', 10_000);
    expect(seen(collector)).toEqual(['a1', 'a2', 'reset:history-lost', 'queued', 'c1']);
    expectIncreasing(collector);
    expect(await t.history.replay('ann', id(collector.ids[1]))).toEqual({ ok: false, reason: 'history-lost' });
  });

  it("answers a resume from an id the restarted Redis lost (b2, b1, a3) with history-lost, on this instance and on one started since; from the reset's id with exactly c1", async () => {
    const [collector] = await snapshotRestart('after the instances are back');
    const t = open[0];
    const [, , a3, b1, b2, reset, c1] = collector.ids;
    const later = await transport(server!.url, new Collector());
    for (const instance of [t, later]) {
      for (const lost of [b2, b1, a3])
        expect(await instance.history.replay('ann', id(lost))).toEqual({ ok: false, reason: 'history-lost' });
      const fromReset = await instance.history.replay('ann', id(reset));
      expect(fromReset.ok && fromReset.frames.map((f) => [f.id, f.data])).toEqual([[c1, '"c1"']]);
      expect(await instance.history.replay('ann', id(c1))).toEqual({ ok: true, frames: [] });
    }
  });

  it('gives its streams the reset at a restart point another instance recorded, in log order, even with nothing lost to its own reader (it was behind)', async () => {
    const { server, inspect } = await redisKeeping('none');
    const collector = new Collector();
    const t = await transport(server.url, collector);
    t.publish(note('e1'));
    await collector.until(1, 'e1');
    // Another instance, further on than this one when Redis came back from older data, finds its last event
    // gone (an id past e1 that the log lacks) and records the restart point; this reader had no outage to check.
    const e1 = id(collector.ids[0]);
    const other = defineScripts(inspect.duplicate());
    try {
      const point = await other.sseRestart(
        'restart:log',
        'restart:epoch',
        'restart:restart',
        `${e1.ms}-${e1.seq + 5}`,
        '1',
      );
      expect(point).toEqual(expect.stringMatching(/^\d+-\d+$/));
      t.publish(note('e2'));
      await collector.until(3, 'a reset and e2');
      expect(seen(collector)).toEqual(['e1', 'reset:history-lost', 'e2']);
      expect(collector.ids[1]).toBe(point);
      expectIncreasing(collector);
      expect(await t.history.replay('ann', e1)).toEqual({ ok: false, reason: 'history-lost' });
      const fromPoint = await t.history.replay('ann', id(point!));
      expect(fromPoint.ok && fromPoint.frames.map((f) => f.data)).toEqual(['"e2"']);
    } finally {
      other.disconnect();
    }
  });

  it("gives every publish an id above the newest this instance delivered even when the log's last id went back below it (older data, a clock behind): it is delivered, not skipped", async () => {
    const { server, inspect } = await redisKeeping('none');
    const collector = new Collector();
    const t = await transport(server.url, collector);
    // Another instance whose clock is a minute ahead wrote this: the reader delivers it.
    const ahead = `${Date.now() + 60_000}-0`;
    await inspect.xadd('restart:log', ahead, 'type', 'note', 'data', '"ahead"', 'u', '["ann"]');
    await collector.until(1, 'the event from a minute ahead');
    // The log goes back to a last id below it, as a Redis restarted from data older than that event would.
    await inspect.del('restart:log');
    await inspect.xadd('restart:log', 'MAXLEN', '0', `${Date.now() - 1000}-0`, 'boot', '1');
    t.publish(note('next'));
    await collector.until(2, 'the next event', 5000);
    expect(seen(collector)).toEqual(['ahead', 'next']);
    expectIncreasing(collector);
  });
});
