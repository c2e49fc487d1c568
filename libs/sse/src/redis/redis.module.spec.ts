import { RedisSseTransport } from '@nest-sse/server/redis';
import type { MessageEvent } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';

import { ConditionWaiter } from '../../../../test/support/condition-waiter.js';
import { hasRedisServer, startRedisServer, type TestRedisServer } from '../../../../test/support/redis-server.js';
import { SseModule } from '../sse.module.js';
import { SseService } from '../sse.service.js';

const redisMissing = !hasRedisServer();
if (redisMissing && process.env.CI) throw new Error('redis-server is required in CI (.ci/run installs it)');
if (redisMissing)
  console.warn(
    'libs/sse/src/redis/redis.module.spec.ts skipped: redis-server is not installed (apt-get install redis-server)',
  );
const describeRedis = redisMissing ? describe.skip : describe;

describeRedis('SseModule with RedisSseTransport', () => {
  let server: TestRedisServer;
  const modules: TestingModule[] = [];

  /** One instance: a Nest app context with the module on the test's Redis. */
  async function instance(): Promise<SseService> {
    const moduleRef = await Test.createTestingModule({
      imports: [
        SseModule.forRoot({
          jwt: { secret: 'a-test-secret-of-enough-length' },
          route: false,
          transport: new RedisSseTransport({ redis: server.url }),
        }),
      ],
    }).compile();
    modules.push(moduleRef);
    await moduleRef.init();
    return moduleRef.get(SseService);
  }

  function collect(service: SseService, userId: string) {
    const got: MessageEvent[] = [];
    const waiter = new ConditionWaiter();
    const subscription = service.stream(userId).subscribe((message) => {
      got.push(message);
      waiter.notify();
    });
    const events = () => got.filter((m) => m.type === 'note');
    return {
      events,
      subscription,
      until: (count: number, what: string) => waiter.until(() => events().length >= count, 5000, what),
    };
  }

  beforeAll(async () => {
    server = await startRedisServer();
  });

  afterAll(async () => {
    for (const moduleRef of modules.splice(0)) await moduleRef.close();
    await server?.stop();
  });

  it("boots, and SseService's sends reach streams opened with stream() on this instance and on another", async () => {
    const [one, two] = [await instance(), await instance()];
    const here = collect(one, 'ann');
    const there = collect(two, 'ann');
    const other = collect(two, 'bob');
    one.sendToUser('ann', { type: 'note', data: { n: 1 } });
    two.sendToUser('ann', { type: 'note', data: { n: 2 } });
    one.broadcast({ type: 'note', data: { n: 3 } });
    await here.until(3, "ann's stream on the publishing instance");
    await there.until(3, "ann's stream on the other instance");
    await other.until(1, "bob's broadcast");
    // One order on both instances, each publisher's own sends in its order; two publishers' sends in no promised order.
    const order = here.events().map((m) => m.data);
    expect([...order].sort()).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
    expect(order.filter((d) => d !== '{"n":2}')).toEqual(['{"n":1}', '{"n":3}']);
    expect(there.events().map((m) => [m.id, m.data])).toEqual(here.events().map((m) => [m.id, m.data]));
    expect(other.events().map((m) => m.data)).toEqual(['{"n":3}']);
    for (const c of [here, there, other]) c.subscription.unsubscribe();
  });

  it('counts streams opened with openStream() across instances, and releases them with the stream', async () => {
    const [one, two] = [await instance(), await instance()];
    const subscription = (await one.openStream('cy')).subscribe();
    expect(await two.clusterConnectionCount('cy')).toBe(1);
    expect(await two.isConnectedInCluster('cy')).toBe(true);
    subscription.unsubscribe();
    const deadline = Date.now() + 5000;
    while ((await two.clusterConnectionCount('cy')) !== 0) {
      if (Date.now() > deadline) throw new Error("cy's slot was not released within 5 s");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  });
});
