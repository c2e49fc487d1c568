import net, { type Socket } from 'node:net';

import {
  MemoryHistoryStore,
  type SseEventId,
  type SseHistoryRecord,
  type SseHistoryStore,
  type SseReplayResult,
  SseService,
  SseTransportError,
} from '@nest-sse/server';
import { RedisSseTransport } from '@nest-sse/server/redis';
import { Redis } from 'ioredis';

import { type RunningApp, signToken } from './support/demo-app.js';
import { startLibrary } from './support/library-app.js';
import { type AdapterName, ADAPTERS } from './support/nest-app.factory.js';
import { hasRedisServer, startRedisServer } from './support/redis-server.js';
import { rawGet, sleep, StreamClient, waitForCount } from './support/sse-client.js';
import { connectUser } from './support/streams.js';

/** A server whose sockets the test can cut, as a proxy or a network would. */
async function startWithSockets(options: Parameters<typeof startLibrary>[0], adapter: AdapterName) {
  const server = await startLibrary({ heartbeatIntervalMs: 0, ...options }, {}, { adapter });
  const sockets = new Set<Socket>();
  server.app.getHttpServer().on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  const cut = () => sockets.forEach((s) => s.destroy());
  return { server, sse: server.app.get(SseService), cut };
}

/** A store that answers later, as a remote one would: replay and live delivery then truly overlap. */
class SlowStore implements SseHistoryStore {
  private readonly inner = new MemoryHistoryStore({ maxEvents: 20_000, ttlMs: 60_000 });
  append(record: SseHistoryRecord): void {
    this.inner.append(record);
  }
  async replay(userId: string, after: SseEventId): Promise<SseReplayResult> {
    const result = this.inner.replay(userId, after);
    await sleep(15);
    return result;
  }
}

/** A store that keeps events outside the process: it gives back their fields, as a remote one would. */
class SerialisingStore extends SlowStore {
  override async replay(userId: string, after: SseEventId): Promise<SseReplayResult> {
    const result = await super.replay(userId, after);
    return result.ok ? { ok: true, frames: result.frames.map((f) => JSON.parse(JSON.stringify(f))) } : result;
  }
}

describe.each(ADAPTERS)('on %s', (adapter) => {
  describe('Last-Event-ID replay', () => {
    let server: RunningApp;
    let sse: SseService;
    let cut: () => void;
    const clients: StreamClient[] = [];
    beforeAll(async () => {
      ({ server, sse, cut } = await startWithSockets(
        { retryMs: 200, history: { maxEvents: 5, ttlMs: 60_000 } },
        adapter,
      ));
    });
    afterEach(async () => {
      clients.splice(0).forEach((c) => c.close());
      await waitForCount(() => sse.connectionCount(), 0);
    });
    afterAll(() => server.close());

    const url = (user: string, query = '') => `${server.baseUrl}/api/events?token=${signToken(user)}${query}`;
    const open = (user: string, query = '') => connectUser(server, user, clients, { query });

    it('starts every stream with retry: and an id marking its position', async () => {
      const res = await rawGet(url('pos'));
      expect(res.body).toMatch(/^\n?id: \d+-\d+\nretry: 200\n: connected\n\n$/);
    });

    it('gives a client that reconnects by itself exactly the three events it missed, once, in order', async () => {
      const client = await open('alice');
      sse.sendToUser('alice', { type: 'notification', data: 'before' });
      await client.until(() => client.events.length === 1);

      cut(); // the server side of the stream is gone; the client will retry after `retry:`
      await waitForCount(() => sse.connectionCount('alice'), 0);
      sse.sendToUser('alice', { type: 'notification', data: 'missed 1' });
      sse.sendToUser('bob', { type: 'notification', data: 'not for alice' });
      sse.broadcast({ type: 'update', data: 'missed 2' });
      sse.sendToUsers(['alice', 'carol'], { type: 'notification', data: 'missed 3' });

      await client.until(() => client.events.length >= 4, 5000, 'the replay');
      sse.sendToUser('alice', { type: 'notification', data: 'live' });
      await client.until(() => client.events.length >= 5);
      await sleep(50);
      expect(client.opens).toBe(2);
      expect(client.events.map((e) => e.data)).toEqual(['before', 'missed 1', 'missed 2', 'missed 3', 'live']);
      expect(client.ofType('reset')).toEqual([]);
    });

    it('replays from the lastEventId query parameter for a freshly opened EventSource', async () => {
      const first = await open('dana');
      sse.sendToUser('dana', { type: 'notification', data: 'seen' });
      await first.until(() => first.events.length === 1);
      const seenId = first.events[0].lastEventId;
      first.close();
      await waitForCount(() => sse.connectionCount('dana'), 0);
      sse.sendToUser('dana', { type: 'notification', data: 'after reload 1' });
      sse.sendToUser('dana', { type: 'notification', data: 'after reload 2' });

      const reloaded = await open('dana', `&lastEventId=${seenId}`);
      await reloaded.until(() => reloaded.events.length === 2);
      expect(reloaded.events.map((e) => e.data)).toEqual(['after reload 1', 'after reload 2']);
    });

    it('prefers the Last-Event-ID header over the query parameter', async () => {
      const first = await open('erik');
      sse.sendToUser('erik', { type: 'notification', data: 1 });
      sse.sendToUser('erik', { type: 'notification', data: 2 });
      await first.until(() => first.events.length === 2);
      const [id1, id2] = first.events.map((e) => e.lastEventId);
      const res = await rawGet(url('erik', `&lastEventId=${id1}`), { 'last-event-id': id2 });
      expect(res.body).not.toMatch(/data: 2\n/);
      const fromQuery = await rawGet(url('erik', `&lastEventId=${id1}`));
      expect(fromQuery.body).toMatch(/data: 2\n/);
    });

    it.each([
      ['malformed', 'not-an-id', 'malformed-id'],
      ['over-long', `${'1'.repeat(40)}-${'1'.repeat(40)}`, 'malformed-id'],
      ['from the future', '99999999999999-0', 'unknown-id'],
      ['from before this server started', '1000-0', 'unknown-id'],
    ])('sends reset for a %s id, then continues live', async (_, id, reason) => {
      const client = await open('frank', `&lastEventId=${encodeURIComponent(id)}`);
      await client.until(() => client.ofType('reset').length === 1);
      expect(client.ofType('reset')[0].data).toMatchObject({ reason, message: expect.any(String) });
      sse.sendToUser('frank', { type: 'notification', data: 'live after reset' });
      await client.until(() => client.ofType('notification').length === 1);
    });

    it('sends reset (too-old) when history no longer holds what came after the id', async () => {
      const client = await open('gina');
      sse.sendToUser('gina', { type: 'notification', data: 0 });
      await client.until(() => client.events.length === 1);
      const oldId = client.events[0].lastEventId;
      client.close();
      await waitForCount(() => sse.connectionCount('gina'), 0);
      for (let i = 1; i <= 6; i++) sse.sendToUser('gina', { type: 'notification', data: i }); // maxEvents is 5

      const res = await rawGet(url('gina', `&lastEventId=${oldId}`));
      expect(res.status).toBe(200);
      expect(res.body).toMatch(/event: reset\nid: \d+-\d+\ndata: \{"reason":"too-old"/);
      expect(res.body).not.toMatch(/event: notification/);
    });

    it("replays a user only their own events and broadcasts, even from another user's id", async () => {
      const holly = await open('holly');
      sse.sendToUser('holly', { type: 'notification', data: 'holly 1' });
      await holly.until(() => holly.events.length === 1);
      const hollysId = holly.events[0].lastEventId;
      sse.sendToUser('holly', { type: 'notification', data: 'holly secret' });
      sse.sendToUser('ivan', { type: 'notification', data: 'ivan 1' });
      sse.broadcast({ type: 'update', data: 'all' });

      const ivan = await rawGet(url('ivan', `&lastEventId=${hollysId}`));
      expect(ivan.body).toMatch(/data: "ivan 1"\n/);
      expect(ivan.body).toMatch(/data: "all"\n/);
      expect(ivan.body).not.toMatch(/holly/);
    });
  });

  describe('replay with history off', () => {
    it('answers a resuming client with reset (history-disabled)', async () => {
      const server = await startLibrary({ heartbeatIntervalMs: 0, history: false }, {}, { adapter });
      try {
        const res = await rawGet(`${server.baseUrl}/api/events?token=${signToken('x')}`, { 'last-event-id': '1-0' });
        expect(res.body).toMatch(/"reason":"history-disabled"/);
      } finally {
        await server.close();
      }
    });
  });

  describe('replay by age', () => {
    it('sends reset (too-old) once the events after the id have expired', async () => {
      const { server, sse } = await startWithSockets({ history: { ttlMs: 300 } }, adapter);
      try {
        const first = new StreamClient(`${server.baseUrl}/api/events?token=${signToken('jo')}`);
        await first.opened();
        sse.sendToUser('jo', { type: 'notification', data: 'old' });
        await first.until(() => first.events.length === 1);
        first.close();
        sse.sendToUser('jo', { type: 'notification', data: 'expires too' });
        await sleep(400);
        const res = await rawGet(
          `${server.baseUrl}/api/events?token=${signToken('jo')}&lastEventId=${first.events[0].lastEventId}`,
        );
        expect(res.body).toMatch(/"reason":"too-old"/);
        expect(res.body).not.toMatch(/expires too/);
      } finally {
        await server.close();
      }
    });
  });

  describe.each([
    ['the in-memory store', () => undefined],
    ['a slow asynchronous store', () => new SlowStore()],
    ['a store that gives back frames as plain fields', () => new SerialisingStore()],
  ])('replay race with %s', (_, store) => {
    it('keeps every client gap-free and duplicate-free while publishing in a tight loop and cutting connections', async () => {
      const { server, sse, cut } = await startWithSockets(
        { retryMs: 5, history: { maxEvents: 20_000, store: store() } },
        adapter,
      );
      const users = ['r1', 'r2', 'r3', 'r4'];
      const clients = users.map((u) => new StreamClient(`${server.baseUrl}/api/events?token=${signToken(u)}`));
      try {
        await Promise.all(clients.map((c) => c.opened()));
        let total = 0;
        let cuts = 0;
        const chaos = setInterval(() => {
          cut();
          cuts++;
        }, 60);
        const until = Date.now() + 1500;
        for (let seq = 0; Date.now() < until || cuts < 6; seq++, total++) {
          // Alternate targeted sends and broadcasts: both must be replayed in one order.
          if (seq % 3 === 0) sse.broadcast({ type: 'update', data: { seq } });
          else for (const u of users) sse.sendToUser(u, { type: 'update', data: { seq } });
          if (seq % 5 === 0) await sleep(1);
        }
        clearInterval(chaos);
        for (const c of clients) {
          await c.until(() => c.ofType('update').length >= total, 15_000, 'every event');
        }
        await sleep(100);
        expect(cuts).toBeGreaterThanOrEqual(6);
        expect(total).toBeGreaterThan(300);
        for (const c of clients) {
          expect(c.ofType('reset')).toEqual([]);
          expect(c.opens).toBeGreaterThan(1);
          const seqs = c.ofType('update').map((e) => (e.data as { seq: number }).seq);
          expect(seqs).toEqual(Array.from({ length: total }, (_, i) => i));
        }
      } finally {
        clients.forEach((c) => c.close());
        await server.close();
      }
    });
  });
});

/** Stores that fail in every way a store can: each resume gets a reset, and no slot is ever kept. */
const failingStores: Array<[string, () => SseHistoryStore]> = [
  [
    'throws as it replays',
    () => ({
      append: () => undefined,
      replay: () => {
        throw new Error('store down');
      },
    }),
  ],
  ['rejects', () => ({ append: () => undefined, replay: () => Promise.reject(new Error('store down')) })],
  // Given up after history.replayTimeoutMs (50 ms below).
  ['never answers', () => ({ append: () => undefined, replay: () => new Promise<never>(() => undefined) })],
  [
    'answers a null frame',
    () => ({ append: () => undefined, replay: async () => ({ ok: true, frames: [null as never] }) }),
  ],
  ['answers something that is not a result', () => ({ append: () => undefined, replay: async () => 42 as never })],
  [
    'answers a frame whose type would break the stream',
    () => ({
      append: () => undefined,
      replay: async () => ({ ok: true, frames: [{ type: 'a\nb', id: '1-0', data: '1' }] }),
    }),
  ],
];

describe.each(ADAPTERS)('a failing history store (%s)', (adapter) => {
  it.each(failingStores)(
    'that %s: every resume is a history-unavailable reset, and every slot is freed',
    async (_, store) => {
      const server = await startLibrary(
        { heartbeatIntervalMs: 0, history: { store: store(), replayTimeoutMs: 50 } },
        {},
        { adapter, logger: false },
      );
      try {
        const sse = server.app.get(SseService);
        const url = `${server.baseUrl}/api/events?token=${signToken('resumer')}`;
        const fresh = await rawGet(url);
        const lastId = /^id: (\S+)$/m.exec(fresh.body)![1];
        // More resumes than the per-user limit (5): a leaked slot would turn the last ones into 429s.
        for (let i = 0; i < 7; i++) {
          const res = await rawGet(url, { 'last-event-id': lastId });
          expect(res.status).toBe(200);
          expect(res.body).toMatch(/event: reset\nid: \S+\ndata: \{"reason":"history-unavailable"/);
          expect(res.body).not.toMatch(/a\nb/);
        }
        await waitForCount(() => sse.connectionCount('resumer'), 0);
      } finally {
        await server.close();
      }
    },
  );
});

/** Answers after the token below has expired. */
class LateStore extends SlowStore {
  override async replay(userId: string, after: SseEventId): Promise<SseReplayResult> {
    const result = await super.replay(userId, after);
    await sleep(3000);
    return result;
  }
}

describe.each(ADAPTERS)('a token that expires while history is read (%s)', (adapter) => {
  it('expires after the opening frame, repeating the position, never with an empty id', async () => {
    const server = await startLibrary({ heartbeatIntervalMs: 0, history: { store: new LateStore() } }, {}, { adapter });
    try {
      const base = `${server.baseUrl}/api/events?token=`;
      const position = /^id: (\S+)$/m.exec((await rawGet(base + signToken('late'))).body)![1];
      // Between 1 and 2 s left: enough to pass the guard, gone before the store's 3 s answer.
      const shortLived = signToken('late', { exp: Math.ceil(Date.now() / 1000) + 1 });
      const res = await rawGet(base + shortLived, { 'last-event-id': position }, 8000);
      expect(res.ended).toBe(true);
      expect(res.body).not.toMatch(/^id: ?$/m);
      expect(res.body).toBe(
        `id: ${position}\nretry: 3000\n: connected\n\nevent: auth-expired\nid: ${position}\ndata: {"reason":"token expired"}\n\n`,
      );
    } finally {
      await server.close();
    }
  });
});

/** mulberry32: a small seeded PRNG, floats in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed | 0;
  return () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A TCP proxy handing each new connection to the next port in turn: a client's reconnects alternate between instances. */
async function roundRobin(ports: readonly number[]): Promise<{ port: number; close(): Promise<void> }> {
  let next = 0;
  const sockets = new Set<Socket>();
  const server = net.createServer((inbound) => {
    const outbound = net.connect(ports[next++ % ports.length], '127.0.0.1');
    for (const socket of [inbound, outbound]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () => {
      sockets.forEach((s) => s.destroy());
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}

const CHAOS_SEED = Number(process.env.CHAOS_SEED ?? 0x5eed21);
const describeRedisChaos = hasRedisServer() ? describe.each(ADAPTERS) : describe.skip.each(ADAPTERS);
if (!hasRedisServer() && process.env.CI) throw new Error('redis-server is required in CI (.ci/run installs it)');

/**
 * The replay race on the Redis transport, with Redis killed (SIGKILL) and restarted from an older snapshot, twice:
 * two instances, clients whose reconnects alternate between them, connections cut, events published from
 * either instance to one user or to all, before the snapshot, after it (lost by the restart), while Redis is away
 * (queued, the first time) and after. Seeded: CHAOS_SEED=<n> replays a run.
 */
describeRedisChaos(
  `replay race on the Redis transport across restarts from an older snapshot (%s, seed 0x${CHAOS_SEED.toString(16)})`,
  (adapter) => {
    it('never gives a client an event twice or out of id order, skips events only across a history-lost reset, and every client gets that reset (one per restart) and the last event', async () => {
      const random = mulberry32(CHAOS_SEED);
      const redis = await startRedisServer({ persistence: 'rdb' });
      const inspect = new Redis(redis.url, { maxRetriesPerRequest: null, disconnectTimeout: 100 });
      inspect.on('error', () => undefined);
      const transports: RedisSseTransport[] = [];
      const instance = () => {
        const transport = new RedisSseTransport({
          redis: redis.url,
          keyPrefix: 'chaos:',
          maxPendingPublishes: 100_000,
          history: { maxEvents: 20_000 },
        });
        transports.push(transport);
        return startWithSockets({ retryMs: 5, transport }, adapter);
      };
      const instances = [await instance(), await instance()];
      const proxy = await roundRobin(instances.map(({ server }) => Number(new URL(server.baseUrl).port)));
      const users = ['k1', 'k2', 'k3', 'k4'];
      const clients = users.map(
        (u) => new StreamClient(`http://127.0.0.1:${proxy.port}/api/events?token=${signToken(u)}`),
      );
      /**
       * Per user and per publishing instance, the seqs published to the user that the transport took (a refused
       * publish threw), in order: the cluster keeps each publisher's order, not the order between two publishers.
       */
      const accepted = new Map(users.map((u) => [u, [[], []] as number[][]]));
      let seq = 0;
      let cuts = 0;
      const publish = () => {
        const from = random() < 0.5 ? 0 : 1;
        const { sse } = instances[from];
        const event = { type: 'update', data: { seq } };
        try {
          if (random() < 1 / 3) {
            sse.broadcast(event);
            users.forEach((u) => accepted.get(u)![from].push(seq));
          } else {
            const user = users[Math.floor(random() * users.length)];
            sse.sendToUser(user, event);
            accepted.get(user)![from].push(seq);
          }
        } catch (err) {
          if (!(err instanceof SseTransportError)) throw err;
        }
        seq++;
      };
      /** Publishes for `ms`, cutting an instance's connections every 60 ms when `cutting`. */
      const run = async (ms: number, cutting: boolean) => {
        const chaos = cutting
          ? setInterval(() => {
              instances[random() < 0.5 ? 0 : 1].cut();
              cuts++;
            }, 60)
          : undefined;
        const until = Date.now() + ms;
        for (let i = 0; Date.now() < until; i++) {
          publish();
          if (i % 5 === 0) await sleep(1);
        }
        clearInterval(chaos);
      };
      /** Every client has its stream open: none reconnects while Redis is away (a new stream is refused then). */
      const allOpen = async () => {
        const deadline = Date.now() + 10_000;
        while (
          instances.reduce((n, { sse }) => n + sse.connectionCount(), 0) !== users.length ||
          clients.some((c) => c.readyState !== 1)
        ) {
          if (Date.now() > deadline) throw new Error('timed out waiting for every client to be connected');
          await sleep(10);
        }
      };
      /** A broadcast after every event published so far (in time: each publisher's sequence goes on with it), which every client gets. */
      const drain = async () => {
        const mark = seq++;
        instances[0].sse.broadcast({ type: 'update', data: { seq: mark } });
        users.forEach((u) => accepted.get(u)!.forEach((seqs) => seqs.push(mark)));
        for (const c of clients)
          await c.until(
            () => c.ofType('update').some((e) => (e.data as { seq: number }).seq === mark),
            15_000,
            `event ${mark}`,
          );
      };
      try {
        await Promise.all(clients.map((c) => c.opened()));
        await run(600, true);
        // Twice: once with events published while Redis is away (queued, they reach the restarted Redis first),
        // once quiet until the instances found the restarted Redis on their own (as in the issue).
        for (const quiet of [false, true]) {
          await allOpen();
          await inspect.save();
          // Lost with the restart: Redis acknowledged them, then forgot them.
          await run(300, false);
          if (quiet) await drain();
          const before = clients.map((c) => c.events.length);
          // Redis answered every publish: none is in flight when it is killed (a batch whose answer is lost with the
          // connection is sent again by ioredis, and written again when Redis lost it: docs/deployment.md says so).
          for (const t of transports) {
            const deadline = Date.now() + 10_000;
            while (t.pendingPublishCount() > 0) {
              if (Date.now() > deadline) throw new Error('timed out waiting for Redis to answer every publish');
              await sleep(5);
            }
          }
          await redis.stop();
          if (!quiet) await run(200, false);
          await redis.restart();
          if (quiet) {
            for (const [k, c] of clients.entries())
              await c.until(
                () => c.events.length > before[k],
                10_000,
                'something after the restart, before any publish',
              );
          }
          const deadline = Date.now() + 10_000;
          while (
            !(
              await Promise.all(
                transports.map((t) =>
                  t.ping(500).then(
                    () => true,
                    () => false,
                  ),
                ),
              )
            ).every(Boolean)
          ) {
            if (Date.now() > deadline)
              throw new Error('timed out waiting for both instances to reach the restarted Redis');
            await sleep(20);
          }
          await run(600, true);
        }
        await allOpen();
        await drain();

        expect(cuts).toBeGreaterThanOrEqual(10);
        /** Every breach of the rules, per client: an empty list is a pass, and a failure names what broke. */
        const violations: string[] = [];
        users.forEach((user, k) => {
          const events = clients[k].events.filter((e) => e.type === 'update' || e.type === 'reset');
          const reasons = events.filter((e) => e.type === 'reset').map((e) => (e.data as { reason: string }).reason);
          // One per restart: the client was connected across both.
          if (reasons.filter((r) => r === 'history-lost').length < 2)
            violations.push(`${user}: not a history-lost reset per restart (resets: ${reasons.join(',') || 'none'})`);
          const others = reasons.filter((r) => r !== 'history-lost');
          if (others.length > 0) violations.push(`${user}: other resets: ${others.join(',')}`);
          // Ids go up, and no event comes twice.
          let lastId: SseEventId = { ms: 0, seq: 0 };
          const got = new Set<number>();
          for (const event of events.filter((e) => e.type === 'update')) {
            const s = (event.data as { seq: number }).seq;
            const [ms, idSeq] = event.lastEventId.split('-').map(Number);
            if (!(ms > lastId.ms || (ms === lastId.ms && idSeq > lastId.seq)))
              violations.push(`${user}: ${s}'s id ${event.lastEventId} is not above the one before`);
            lastId = { ms, seq: idSeq };
            if (got.has(s)) violations.push(`${user}: got ${s} twice`);
            got.add(s);
          }
          // Each publisher's events in its order; one skipped only across a reset that came between its neighbours.
          for (const published of accepted.get(user)!) {
            const at = new Map(published.map((s, i) => [s, i]));
            let next = 0;
            let resetSince = false;
            for (const event of events) {
              if (event.type === 'reset') {
                resetSince = true;
                continue;
              }
              const index = at.get((event.data as { seq: number }).seq);
              if (index === undefined) continue;
              if (index < next)
                violations.push(`${user}: got ${published[index]} after ${published[next - 1]}, published before it`);
              else if (index > next && !resetSince)
                violations.push(`${user}: missed ${published.slice(next, index).join(',')} without a reset`);
              next = Math.max(next, index + 1);
              resetSince = false;
            }
            if (next !== published.length) violations.push(`${user}: did not get the last event`);
          }
        });
        expect(violations.slice(0, 20)).toEqual([]);
      } finally {
        clients.forEach((c) => c.close());
        await proxy.close();
        await Promise.all(instances.map(({ server }) => server.close()));
        inspect.disconnect();
        await redis.dispose();
      }
    }, 60_000);
  },
);
