import { SseModule, SseService } from '@nest-sse/server';
import { SSE_LIFECYCLE_EVENTS, SseBridgeModule, type SseUserPresenceEvent } from '@nest-sse/server/bridge';
import { RedisSseTransport } from '@nest-sse/server/redis';
import { Injectable, Module } from '@nestjs/common';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Test } from '@nestjs/testing';

import { ConditionWaiter } from './support/condition-waiter.js';
import { listen, type RunningApp, signToken, TEST_SECRET } from './support/demo-app.js';
import { hasRedisServer, startRedisServer, type TestRedisServer } from './support/redis-server.js';
import { sleep, StreamClient, waitForCount } from './support/sse-client.js';

/** How long a "does not happen" check waits: far past a slot script's round trip on loopback. */
const QUIET_MS = 500;

/** Every online/offline one instance emitted, as `online:<user>` / `offline:<user>`. */
@Injectable()
class PresenceRecorder {
  readonly events: string[] = [];
  private readonly changes = new ConditionWaiter();

  @OnEvent(SSE_LIFECYCLE_EVENTS.userOnline)
  online({ userId }: SseUserPresenceEvent): void {
    this.record(`online:${userId}`);
  }

  @OnEvent(SSE_LIFECYCLE_EVENTS.userOffline)
  offline({ userId }: SseUserPresenceEvent): void {
    this.record(`offline:${userId}`);
  }

  until(predicate: () => boolean, what: string): Promise<void> {
    return this.changes.until(predicate, 5000, what);
  }

  private record(event: string): void {
    this.events.push(event);
    this.changes.notify();
  }
}

interface Instance {
  server: RunningApp;
  recorder: PresenceRecorder;
  sse: SseService;
}

/** One instance of the cluster: its own Nest app on the shared Redis, in this process. */
async function startInstance(redisUrl: string): Promise<Instance> {
  @Module({
    imports: [
      EventEmitterModule.forRoot(),
      SseModule.forRoot({
        jwt: { secret: TEST_SECRET },
        heartbeatIntervalMs: 0,
        transport: new RedisSseTransport({ redis: redisUrl }),
      }),
      SseBridgeModule.forRoot(),
    ],
    providers: [PresenceRecorder],
  })
  class InstanceModule {}
  const moduleRef = await Test.createTestingModule({ imports: [InstanceModule] }).compile();
  const server = await listen(moduleRef.createNestApplication({ logger: ['error'] }));
  return { server, recorder: server.app.get(PresenceRecorder), sse: server.app.get(SseService) };
}

const describeRedis = hasRedisServer() || process.env.CI === 'true' ? describe : describe.skip;
if (!hasRedisServer() && process.env.CI !== 'true') {
  console.warn('test/lifecycle-cluster.e2e-spec.ts skipped: redis-server not installed');
}

describeRedis('user online/offline across the cluster (Redis transport, two instances)', () => {
  let redis: TestRedisServer;
  let a: Instance;
  let b: Instance;
  let clients: StreamClient[] = [];
  beforeAll(async () => {
    redis = await startRedisServer();
    [a, b] = await Promise.all([startInstance(redis.url), startInstance(redis.url)]);
  });
  afterEach(() => {
    clients.forEach((c) => c.close());
    clients = [];
  });
  afterAll(async () => {
    await Promise.all([a?.server.close(), b?.server.close()]);
    await redis?.stop();
  });

  const connect = async (instance: Instance, userId: string) => {
    const client = new StreamClient(`${instance.server.baseUrl}/api/events?token=${signToken(userId)}`);
    clients.push(client);
    await client.opened();
    return client;
  };
  const all = () => [...a.recorder.events.map((e) => `a ${e}`), ...b.recorder.events.map((e) => `b ${e}`)];

  it('online at the first stream anywhere, offline at the last anywhere: once in the cluster, by the instance that made the change', async () => {
    const onA = await connect(a, 'roaming');
    await a.recorder.until(() => a.recorder.events.includes('online:roaming'), 'online on a');
    const onB = await connect(b, 'roaming');
    await waitForCount(() => b.sse.connectionCount('roaming'), 1);
    await sleep(QUIET_MS);
    expect(all()).toEqual(['a online:roaming']);

    // Its stream on a ends; it still has one on b: not offline.
    onA.close();
    await waitForCount(() => a.sse.connectionCount('roaming'), 0);
    await sleep(QUIET_MS);
    expect(all()).toEqual(['a online:roaming']);

    onB.close();
    await b.recorder.until(() => b.recorder.events.includes('offline:roaming'), 'offline on b');
    await sleep(QUIET_MS);
    expect(all()).toEqual(['a online:roaming', 'b offline:roaming']);
  });

  it('two streams of one user on one instance: one online, one offline', async () => {
    const first = await connect(b, 'double');
    const second = await connect(b, 'double');
    await waitForCount(() => b.sse.connectionCount('double'), 2);
    first.close();
    await waitForCount(() => b.sse.connectionCount('double'), 1);
    second.close();
    await b.recorder.until(() => b.recorder.events.includes('offline:double'), 'offline on b');
    await sleep(QUIET_MS);
    expect(all().filter((e) => e.endsWith(':double'))).toEqual(['b online:double', 'b offline:double']);
  });
});
