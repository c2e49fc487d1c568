/**
 * `@nest-sse/server/redis`: the Redis transport (`RedisSseTransport`): several instances as one. Needs `ioredis` 5.
 * @module @nest-sse/server/redis
 */
export * from '../../libs/sse/src/redis/index.js';
