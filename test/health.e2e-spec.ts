import { SseModule, type SseModuleOptions } from '@nest-sse/server';
import { SseHealthIndicator, SseHealthModule } from '@nest-sse/server/health';
import { RedisSseTransport } from '@nest-sse/server/redis';
import { type BeforeApplicationShutdown, Controller, Get, Injectable, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Test } from '@nestjs/testing';
import { Redis } from 'ioredis';

import { listen, type RunningApp, TEST_SECRET } from './support/demo-app.js';
import { Gate } from './support/gate.js';
import { createApp } from './support/nest-app.factory.js';
import { hasRedisServer, startRedisServer, type TestRedisServer } from './support/redis-server.js';

/** The ping timeout the health controller passes: a Redis that does not answer is down this soon. */
const PING_TIMEOUT_MS = 300;

/** Holds `app.close()` after the module's shutdown began and before the HTTP server closes. */
@Injectable()
class ShutdownGate implements BeforeApplicationShutdown {
  static gate = new Gate();
  async beforeApplicationShutdown(): Promise<void> {
    await ShutdownGate.gate.pass();
  }
}

/** A health controller as users write one, with terminus. */
@Controller('health')
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sse: SseHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.sse.isHealthy('sse', { timeoutMs: PING_TIMEOUT_MS })]);
  }
}

@Module({ imports: [TerminusModule, SseHealthModule], controllers: [HealthController] })
class HealthModule {}

async function start(options: Partial<SseModuleOptions> = {}): Promise<RunningApp> {
  @Module({
    imports: [SseModule.forRoot({ jwt: { secret: TEST_SECRET }, heartbeatIntervalMs: 0, ...options }), HealthModule],
    providers: [ShutdownGate],
  })
  class AppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [AppModule] }).compile();
  return listen(createApp(moduleRef, { logger: false }));
}

interface Health {
  status: number;
  body: { status: string; details: Record<string, { status: string; message?: string }> };
  ms: number;
}

async function getHealth(server: RunningApp): Promise<Health> {
  const started = Date.now();
  const res = await fetch(`${server.baseUrl}/health`);
  return { status: res.status, body: (await res.json()) as Health['body'], ms: Date.now() - started };
}

/** Polls GET /health until `predicate` holds, at most `timeoutMs`. */
async function healthUntil(server: RunningApp, predicate: (h: Health) => boolean, timeoutMs: number): Promise<Health> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const health = await getHealth(server);
    if (predicate(health)) return health;
    if (Date.now() > deadline)
      throw new Error(`GET /health still ${health.status} ${JSON.stringify(health.body)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const isDown = (h: Health) => h.status === 503 && h.body.details.sse?.status === 'down';
const isUp = (h: Health) => h.status === 200 && h.body.details.sse?.status === 'up';

describe('health indicator (@nestjs/terminus), in-process transport', () => {
  let server: RunningApp;
  let closing: Promise<void> | undefined;
  beforeEach(async () => {
    ShutdownGate.gate = new Gate();
    server = await start();
  });
  afterEach(async () => {
    ShutdownGate.gate.open();
    await (closing ?? server.close());
    closing = undefined;
  });

  it('is up while the module accepts streams: GET /health 200', async () => {
    const health = await getHealth(server);
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', details: { sse: { status: 'up' } } });
  });

  it('is down once shutdown began (app.close() under way): GET /health 503, sse down', async () => {
    closing = server.app.close();
    await ShutdownGate.gate.untilArrived(1);
    const health = await getHealth(server);
    expect(health.status).toBe(503);
    expect(health.body.details.sse).toEqual({ status: 'down', message: 'shutting down: no stream opens' });
  });

  it('answers with the key given', async () => {
    const indicator = server.app.get(SseHealthIndicator);
    await expect(indicator.isHealthy('streams')).resolves.toEqual({ streams: { status: 'up' } });
  });
});

const describeRedis = hasRedisServer() || process.env.CI === 'true' ? describe : describe.skip;
if (!hasRedisServer() && process.env.CI !== 'true') {
  console.warn('test/health.e2e-spec.ts: the Redis cases skipped, redis-server not installed');
}

describeRedis('health indicator (@nestjs/terminus), Redis transport', () => {
  let redis: TestRedisServer;
  let server: RunningApp;
  beforeAll(async () => {
    redis = await startRedisServer();
    ShutdownGate.gate = new Gate();
    ShutdownGate.gate.open();
    server = await start({ transport: new RedisSseTransport({ redis: redis.url }) });
  });
  afterAll(async () => {
    await server?.close();
    await redis?.stop();
  });

  it('is up while Redis answers', async () => {
    const health = await getHealth(server);
    expect(health.status).toBe(200);
    expect(health.body.details.sse).toEqual({ status: 'up' });
  });

  it('is down within the ping timeout when Redis is stopped, and up again once it is back', async () => {
    await redis.stop();
    const stoppedAt = Date.now();
    const down = await healthUntil(server, isDown, PING_TIMEOUT_MS + 2000);
    expect(down.body.details.sse.message).toMatch(/^transport unreachable: /);
    expect(down.ms).toBeLessThan(PING_TIMEOUT_MS + 500);
    expect(Date.now() - stoppedAt).toBeLessThan(PING_TIMEOUT_MS + 2000);
    // Each check while it is away answers as fast: down, never a hang.
    const again = await getHealth(server);
    expect(isDown(again)).toBe(true);
    expect(again.ms).toBeLessThan(PING_TIMEOUT_MS + 500);

    await redis.restart();
    // ioredis reconnects with a backoff of at most 2 s.
    await healthUntil(server, isUp, 10_000);
  });

  it('is down after the ping timeout when Redis is connected but does not answer (CLIENT PAUSE), up after', async () => {
    const admin = new Redis(redis.url);
    try {
      await admin.call('CLIENT', 'PAUSE', '2000', 'ALL');
      const paused = await getHealth(server);
      expect(isDown(paused)).toBe(true);
      expect(paused.body.details.sse.message).toBe(
        `transport unreachable: Redis did not answer PING within ${PING_TIMEOUT_MS} ms`,
      );
      expect(paused.ms).toBeGreaterThanOrEqual(PING_TIMEOUT_MS - 20);
      expect(paused.ms).toBeLessThan(PING_TIMEOUT_MS + 500);
      await healthUntil(server, isUp, 5000);
    } finally {
      admin.disconnect();
    }
  });
});
