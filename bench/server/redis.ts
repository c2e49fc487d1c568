import { RedisSseTransport } from '@nest-sse/server/redis';
import { startFastifyModule } from './fastify.js';
import type { Publisher, ServerOptions } from './publisher.js';

/**
 * One instance of the `redis-2` variant: the `fastify` variant's app on
 * `RedisSseTransport`, on the private redis-server the runner started for the
 * variant (`BENCH_REDIS_URL`). The runner starts two of these; only the first publishes.
 */
export function startRedisInstance({ secret }: ServerOptions): Promise<Publisher> {
  const url = process.env.BENCH_REDIS_URL;
  if (!url) throw new Error('the redis-2 variant needs BENCH_REDIS_URL (the runner sets it)');
  return startFastifyModule(secret, new RedisSseTransport({ redis: url }));
}
