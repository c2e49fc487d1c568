import http from 'node:http';

import {
  SseAuthGuard,
  SseLifecycleHub,
  SseModule,
  type SseModuleOptions,
  SseRoute,
  SseService,
  SseStreamUser,
  type SseUser,
} from '@nest-sse/server';
import { RedisSseTransport } from '@nest-sse/server/redis';
import { Controller, ForbiddenException, Module, Req, UseGuards } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';
import { concat, map, of } from 'rxjs';

import { ConditionWaiter } from './support/condition-waiter.js';
import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { type AdapterName, ADAPTERS, createApp } from './support/nest-app.factory.js';
import { hasRedisServer, startRedisServer, type TestRedisServer } from './support/redis-server.js';
import { openRaw, rawGet, rawHead, sleep } from './support/sse-client.js';

/**
 * A stream's cluster-wide slot belongs to the stream
 * that uses it. A HEAD takes none (it answers what its GET would, 429 included),
 * and a slot taken for a stream that never opens (the sink answered HEAD, the
 * subscribe failed, the client left, the handler failed) is given back.
 */
const LIMIT = 3;
/** How long a "does not happen" check waits: far past a slot script's round trip on loopback. */
const QUIET_MS = 500;
/** Bound on a positive wait. */
const WAIT_MS = 5000;
/** The stream factory's claim window (streams/sse-stream.lease.ts), plus room for a loaded machine. */
const CLAIM_WINDOW_BOUND_MS = 10_000 + 3000;

/** An app's own routes on the cluster's limit (`openStream()`), as the README shows them. */
@Controller('own')
@UseGuards(SseAuthGuard)
class OwnStreamsController {
  constructor(private readonly sse: SseService) {}

  /** Given its request: a HEAD is known to `openStream()`, which takes nothing for it. */
  @SseRoute('events')
  events(@SseStreamUser() user: SseUser, @Req() request: object) {
    return this.sse.openStream(user.userId, { request });
  }

  /** Without its request: the sink subscribes a HEAD's Observable as a HEAD's, which gives the slot back. */
  @SseRoute('bare')
  bare(@SseStreamUser() user: SseUser) {
    return this.sse.openStream(user.userId);
  }

  /** Wrapped, without its request: the sink gets an Observable of the app's own around the stream. */
  @SseRoute('wrapped')
  async wrapped(@SseStreamUser() user: SseUser) {
    const stream = await this.sse.openStream(user.userId);
    return concat(of({ type: 'hello', data: 'wrapped' }), stream.pipe(map((message) => message)));
  }

  /** This instance's limit (`stream()`), given its request: a HEAD is answered as its GET, at once. */
  @SseRoute('local')
  local(@SseStreamUser() user: SseUser, @Req() request: object) {
    return this.sse.stream(user.userId, { request });
  }

  /** `stream()` without its request: it fails (429) only as it is subscribed. */
  @SseRoute('local-bare')
  localBare(@SseStreamUser() user: SseUser) {
    return this.sse.stream(user.userId);
  }

  /** Takes the stream, then refuses: nobody ever subscribes it. */
  @SseRoute('fails')
  async fails(@SseStreamUser() user: SseUser) {
    await this.sse.openStream(user.userId);
    throw new ForbiddenException('changed its mind');
  }
}

interface Instance {
  server: RunningApp;
  sse: SseService;
  /** Online/offline as the lifecycle hub reports them, `online:<user>` / `offline:<user>`. */
  presence: string[];
  presenceChanged: ConditionWaiter;
}

async function startInstance(adapter: AdapterName, options: Partial<SseModuleOptions>): Promise<Instance> {
  @Module({
    imports: [
      SseModule.forRoot({
        jwt: { secret: TEST_SECRET },
        heartbeatIntervalMs: 0,
        maxConnectionsPerUser: LIMIT,
        ...options,
      }),
    ],
    controllers: [OwnStreamsController],
  })
  class SlotsAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [SlotsAppModule] }).compile();
  const server = await listen(createApp(moduleRef, { adapter, logger: false }));
  const presence: string[] = [];
  const presenceChanged = new ConditionWaiter();
  const record = (event: string) => {
    presence.push(event);
    presenceChanged.notify();
  };
  server.app.get(SseLifecycleHub).listen({
    userOnline: (userId) => record(`online:${userId}`),
    userOffline: (userId) => record(`offline:${userId}`),
  });
  return { server, sse: server.app.get(SseService), presence, presenceChanged };
}

async function waitFor(read: () => Promise<boolean> | boolean, what: string, timeoutMs = WAIT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await read())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

const redisMissing = !hasRedisServer();
if (redisMissing && process.env.CI === 'true') throw new Error('redis-server is required in CI (.ci/run installs it)');
if (redisMissing)
  console.warn('test/presence-slots.e2e-spec.ts: the Redis cases are skipped, redis-server is not installed');
const TRANSPORTS = redisMissing ? (['memory'] as const) : (['memory', 'redis'] as const);

type Stream = Awaited<ReturnType<typeof openRaw>>;

describe.each(ADAPTERS)('stream slots on %s', (adapter) => {
  describe.each(TRANSPORTS)('with the %s transport', (transport) => {
    let redis: TestRedisServer | undefined;
    let here: Instance;
    /** Where the user's streams are held for the 429 cases: another instance on Redis (only the cluster's count can tell). */
    let elsewhere: Instance;
    let streams: Stream[] = [];
    let seq = 0;
    /** A user of this test alone, so counts and lifecycle events are its own. */
    const newUser = () => `${adapter}-${transport}-${++seq}`;

    beforeAll(async () => {
      if (transport === 'memory') {
        here = elsewhere = await startInstance(adapter, {});
        return;
      }
      redis = await startRedisServer();
      const onRedis = () => ({ transport: new RedisSseTransport({ redis: redis!.url }) });
      [here, elsewhere] = await Promise.all([startInstance(adapter, onRedis()), startInstance(adapter, onRedis())]);
    });
    afterEach(() => {
      streams.forEach((s) => s.destroy());
      streams = [];
    });
    afterAll(async () => {
      await here?.server.close();
      if (elsewhere !== here) await elsewhere?.server.close();
      await redis?.stop();
    });

    const tokenQuery = (user: string) => `token=${signToken(user)}`;
    async function ticketQuery(user: string): Promise<string> {
      const res = await fetch(`${here.server.baseUrl}/api/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${signToken(user)}` },
      });
      expect(res.status).toBe(200);
      return `ticket=${((await res.json()) as { ticket: string }).ticket}`;
    }
    async function openStreams(on: Instance, path: string, user: string, count: number): Promise<void> {
      for (let i = 0; i < count; i++) {
        const stream = await openRaw(`${on.server.baseUrl}${path}?${tokenQuery(user)}`);
        streams.push(stream);
        expect(stream.status).toBe(200);
      }
      await waitFor(() => on.sse.connectionCount(user) === count, `${count} streams of ${user}`);
    }
    const ofUser = (instance: Instance, user: string) => instance.presence.filter((e) => e.endsWith(`:${user}`));

    /**
     * HEADs, more than the limit, each answered 200 with the stream's head; then, after waiting QUIET_MS:
     * no slot in the cluster's count and no online reported; then the user's LIMIT GETs stream.
     */
    async function expectHeadsTakeNoSlot(
      path: string,
      query: (user: string) => Promise<string> | string,
      checkLifecycle = true,
    ) {
      const user = newUser();
      for (let i = 0; i < LIMIT + 4; i++) {
        const head = await rawHead(`${here.server.baseUrl}${path}?${await query(user)}`);
        expect({ head: i, ...head }).toEqual({
          head: i,
          status: 200,
          type: expect.stringMatching(/^text\/event-stream/),
        });
      }
      await sleep(QUIET_MS);
      expect(await here.sse.clusterConnectionCount(user)).toBe(0);
      if (checkLifecycle) expect(ofUser(here, user)).toEqual([]);
      expect(here.sse.connectionCount(user)).toBe(0);

      await openStreams(here, path, user, LIMIT);
      expect(await here.sse.clusterConnectionCount(user)).toBe(LIMIT);
      if (checkLifecycle) expect(ofUser(here, user)).toEqual([`online:${user}`]);
      streams.forEach((s) => s.destroy());
      await waitFor(async () => (await here.sse.clusterConnectionCount(user)) === 0, `the slots of ${user} back`);
    }

    it(`HEADs on the stream route with ?token= answer 200 and take no slot (no user.online within ${QUIET_MS} ms, cluster count 0): the user then opens ${LIMIT} GETs`, async () => {
      await expectHeadsTakeNoSlot('/api/events', tokenQuery);
    });

    it(`HEADs on the stream route with ?ticket= answer 200 and take no slot (no user.online within ${QUIET_MS} ms, cluster count 0): the user then opens ${LIMIT} GETs`, async () => {
      await expectHeadsTakeNoSlot('/api/events', ticketQuery);
    });

    it(`HEADs on an own @SseRoute() returning SseService.openStream(userId, { request }) take no slot (no user.online within ${QUIET_MS} ms, cluster count 0): the user then opens ${LIMIT} GETs`, async () => {
      await expectHeadsTakeNoSlot('/own/events', tokenQuery);
    });

    it(`HEADs on an own @SseRoute() returning SseService.openStream(userId) without its request hold no slot once answered (cluster count 0 after ${QUIET_MS} ms): the user then opens ${LIMIT} GETs`, async () => {
      // Without the request, openStream() cannot tell a HEAD: the sink's HEAD subscription gives back what it took (user.online/offline may be seen).
      await expectHeadsTakeNoSlot('/own/bare', tokenQuery, false);
    });

    it(`HEADs on an own @SseRoute() returning SseService.openStream(userId) without its request, wrapped (concat, pipe), hold no slot once answered (cluster count 0 after ${QUIET_MS} ms): the user then opens ${LIMIT} GETs`, async () => {
      // The sink cannot see the stream inside the app's Observable: it is subscribed as a HEAD's, which opens nothing.
      await expectHeadsTakeNoSlot('/own/wrapped', tokenQuery, false);
    });

    it(`a HEAD on an own @SseRoute() returning SseService.stream() (with its request, or without) answers 429 while the user holds ${LIMIT} streams on this instance, as its GET, and 200 otherwise; no slot taken, the HEAD's 429 not counted as a refused stream`, async () => {
      const user = newUser();
      const head = (path: string) => rawHead(`${here.server.baseUrl}${path}?${tokenQuery(user)}`);
      const refused = () => here.sse.stats().refused.per_user_limit;
      for (const path of ['/own/local', '/own/local-bare']) {
        expect({ path, ...(await head(path)) }).toEqual({
          path,
          status: 200,
          type: expect.stringMatching(/^text\/event-stream/),
        });
      }
      expect(here.sse.connectionCount(user)).toBe(0);
      await openStreams(here, '/own/local', user, LIMIT);

      const before = refused();
      for (const path of ['/own/local', '/own/local-bare']) {
        expect({ path, ...(await head(path)) }).toEqual({
          path,
          status: 429,
          type: expect.stringMatching(/^application\/json/),
        });
      }
      expect(refused()).toBe(before);
      expect((await rawGet(`${here.server.baseUrl}/own/local?${tokenQuery(user)}`)).status).toBe(429);
      expect(refused()).toBe(before + 1);

      streams.pop()!.destroy();
      await waitFor(() => here.sse.connectionCount(user) === LIMIT - 1, `one stream of ${user} closed`);
      for (const path of ['/own/local', '/own/local-bare'])
        expect({ path, ...(await head(path)) }).toMatchObject({ path, status: 200 });
      await sleep(QUIET_MS);
      expect(here.sse.connectionCount(user)).toBe(LIMIT - 1);
    });

    it(`HEAD answers 429 while the user holds ${LIMIT} streams (on Redis, on another instance), on the module's route and own ones, and 200 once one closed; a HEAD's 429 is not counted as a refused stream where the request is known, a GET's is`, async () => {
      const user = newUser();
      await openStreams(elsewhere, '/api/events', user, LIMIT);
      const refused = () => here.sse.stats().refused.per_user_limit;
      let before = refused();
      const head = async (path: string, query = tokenQuery(user)) => ({
        path,
        ...(await rawHead(`${here.server.baseUrl}${path}?${query}`)),
      });
      // Known to be HEADs (the route's request): not counted.
      for (const path of ['/api/events', '/own/events']) expect(await head(path)).toMatchObject({ path, status: 429 });
      expect(await head('/api/events', await ticketQuery(user))).toMatchObject({ status: 429 });
      expect(refused()).toBe(before);
      // openStream() without its request takes the slot as for its GET, and is refused (and counted) as its GET.
      for (const path of ['/own/bare', '/own/wrapped']) expect(await head(path)).toMatchObject({ path, status: 429 });
      before = refused();
      expect((await rawGet(`${here.server.baseUrl}/api/events?${tokenQuery(user)}`)).status).toBe(429);
      expect(refused()).toBe(before + 1);
      expect(await here.sse.clusterConnectionCount(user)).toBe(LIMIT);

      streams.pop()!.destroy();
      await waitFor(
        async () => (await here.sse.clusterConnectionCount(user)) === LIMIT - 1,
        `one slot of ${user} back`,
      );
      expect(await rawHead(`${here.server.baseUrl}/api/events?${tokenQuery(user)}`)).toMatchObject({ status: 200 });
      expect(await here.sse.clusterConnectionCount(user)).toBe(LIMIT - 1);
    });

    if (transport === 'redis') {
      it(`gives back within the claim window the slot of a stream nobody subscribes (an own handler that fails after openStream(), an openStream() left unused): bounded by ${CLAIM_WINDOW_BOUND_MS} ms`, async () => {
        const failing = newUser();
        const unused = newUser();
        expect((await rawGet(`${here.server.baseUrl}/own/fails?${tokenQuery(failing)}`)).status).toBe(403);
        await here.sse.openStream(unused);
        expect(await here.sse.clusterConnectionCount(failing)).toBe(1);
        expect(await here.sse.clusterConnectionCount(unused)).toBe(1);
        await waitFor(
          async () =>
            (await here.sse.clusterConnectionCount(failing)) + (await here.sse.clusterConnectionCount(unused)) === 0,
          'the unclaimed slots back',
          CLAIM_WINDOW_BOUND_MS,
        );
        await openStreams(here, '/own/events', failing, LIMIT);
      }, 30_000);
    }
  });
});

/**
 * Redis's count below this instance's (Redis restarted or failed over, the slots'
 * keys lost until the next renewal): joining then fails as the stream is subscribed,
 * and what it took must still go back. A Redis of the test's own, so that it can
 * hold its answers back (CLIENT PAUSE): a burst's slots then all come back in one read.
 */
const describeRedis = redisMissing ? describe.skip : describe;
describeRedis.each(ADAPTERS)('slots taken for streams that do not open, on %s with the Redis transport', (adapter) => {
  const PER_USER = 5;
  const PAUSE_MS = 300;
  let redis: TestRedisServer;
  let admin: Redis;
  let instance: Instance;
  let streams: Stream[] = [];
  const url = (user: string) => `${instance.server.baseUrl}/api/events?token=${signToken(user)}`;

  beforeAll(async () => {
    redis = await startRedisServer();
    admin = new Redis(redis.url);
    // Renewals far apart: they would put the lost slots back (as they should), ending what the test sets up.
    const transport = new RedisSseTransport({
      redis: redis.url,
      keyPrefix: 'slots:',
      slotRefreshMs: 60_000,
      slotTtlMs: 120_000,
    });
    instance = await startInstance(adapter, { transport, maxConnectionsPerUser: PER_USER });
  });
  afterEach(() => {
    streams.forEach((s) => s.destroy());
    streams = [];
  });
  afterAll(async () => {
    await instance?.server.close();
    admin?.disconnect();
    await redis?.stop();
  });

  it(`with ${PER_USER - 1} streams open and their slots lost in Redis, a burst of ${PER_USER - 1} connects streams one (the others 429), and once all closed the cluster count is back to 0`, async () => {
    const user = `${adapter}-burst`;
    for (let i = 0; i < PER_USER - 1; i++) streams.push(await openRaw(url(user)));
    await waitFor(() => instance.sse.connectionCount(user) === PER_USER - 1, 'the streams open');
    expect(await instance.sse.clusterConnectionCount(user)).toBe(PER_USER - 1);
    await admin.del(`slots:slots:${user}`, 'slots:slots');
    expect(await instance.sse.clusterConnectionCount(user)).toBe(0);

    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    const burst = await Promise.all(Array.from({ length: PER_USER - 1 }, () => openRaw(url(user))));
    streams.push(...burst);
    expect(burst.map((s) => s.status).sort()).toEqual([200, ...Array.from({ length: PER_USER - 2 }, () => 429)]);
    expect(instance.sse.connectionCount(user)).toBe(PER_USER);

    streams.forEach((s) => s.destroy());
    await waitFor(() => instance.sse.connectionCount(user) === 0, 'the streams closed');
    await waitFor(
      async () => (await instance.sse.clusterConnectionCount(user)) === 0,
      `the cluster count of ${user} back to 0`,
    );
    expect(await instance.sse.clusterConnectionCount()).toBe(0);
  });

  it('a client gone while its slot was being taken gives it back (online then offline reported, the cluster count back to 0)', async () => {
    const user = `${adapter}-gone`;
    await admin.call('CLIENT', 'PAUSE', String(PAUSE_MS), 'WRITE');
    const request = http.get(url(user), { agent: false });
    const gone = new Promise<void>((resolve) => request.on('close', resolve));
    request.on('error', () => undefined);
    // The request is in the handler, waiting on its slot, when the client leaves.
    await sleep(PAUSE_MS / 2);
    request.destroy();
    await gone;
    await instance.presenceChanged.until(() => ofUser(user).includes(`offline:${user}`), WAIT_MS, `offline:${user}`);
    expect(ofUser(user)).toEqual([`online:${user}`, `offline:${user}`]);
    expect(await instance.sse.clusterConnectionCount(user)).toBe(0);
    expect(instance.sse.connectionCount(user)).toBe(0);
  });

  const ofUser = (user: string) => instance.presence.filter((e) => e.endsWith(`:${user}`));
});
