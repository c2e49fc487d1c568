import 'reflect-metadata';

import { SseModule, SseService, type SseTransport } from '@nest-sse/server';
import { SSE_METRICS_REGISTRY, SseMetricsModule } from '@nest-sse/server/metrics';
import { type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import type { Registry } from 'prom-client';

import { BenchTopicPolicy } from './bench-topic.policy.js';
import { LISTEN_BACKLOG } from './listen.js';
import { nestPublisher, type Publisher, type ServerOptions } from './publisher.js';

/**
 * The module's own route on Fastify: what an app gets with `SseModule.forRoot()`
 * and `FastifyAdapter`, configured like the library variant (no heartbeat, the same limit, the same topic policy).
 */
export function startFastify({ secret }: ServerOptions): Promise<Publisher> {
  return startFastifyModule(secret);
}

/** How often the metrics variant is scraped: more often than Prometheus usually does (15 s), so its cost shows. */
const SCRAPE_INTERVAL_MS = 1000;

/**
 * The same app with `SseMetricsModule` (its own registry), scraped every second
 * as Prometheus would: what metrics cost, against `fastify` without them.
 */
export async function startFastifyWithMetrics({ secret }: ServerOptions): Promise<Publisher> {
  const publisher = await startFastifyModule(secret, undefined, [SseMetricsModule.forRoot()]);
  const registry = publisher.app.get<Registry>(SSE_METRICS_REGISTRY);
  const scraper = setInterval(() => void registry.metrics(), SCRAPE_INTERVAL_MS);
  return {
    ...publisher,
    close: () => {
      clearInterval(scraper);
      return publisher.close();
    },
  };
}

/**
 * One instance of the `redis-2` variant: the same app on `RedisSseTransport`, on
 * the private redis-server the runner started for the variant (`BENCH_REDIS_URL`).
 * The runner starts two of these; only the first publishes. The Redis entry is
 * imported here rather than at the top, so the other variants' processes never load ioredis.
 */
export async function startRedisInstance({ secret }: ServerOptions): Promise<Publisher> {
  const url = process.env.BENCH_REDIS_URL;
  if (!url) throw new Error('the redis-2 variant needs BENCH_REDIS_URL (the runner sets it)');
  const { RedisSseTransport } = await import('@nest-sse/server/redis');
  return startFastifyModule(secret, new RedisSseTransport({ redis: url }));
}

/** The same app on a transport of the caller's (`startRedisInstance`); the in-process one without. */
export async function startFastifyModule(
  secret: string,
  transport?: SseTransport,
  more: DynamicModule[] = [],
): Promise<Publisher & { app: NestFastifyApplication }> {
  @Module({
    imports: [
      SseModule.forRoot({ jwt: { secret }, heartbeatIntervalMs: 600_000, maxConnectionsPerUser: 10, transport }),
      ...more,
    ],
    providers: [BenchTopicPolicy],
  })
  class FastifyApp {}
  const app = await NestFactory.create<NestFastifyApplication>(FastifyApp, new FastifyAdapter(), {
    logger: ['error', 'warn'],
  });
  // Fastify listens itself (its server is not ready for a bare listen()); it takes the backlog.
  await app.listen({ port: 0, host: '127.0.0.1', backlog: LISTEN_BACKLOG });
  return { ...nestPublisher(app, app.get(SseService)), app };
}
