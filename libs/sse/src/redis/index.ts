/** The Redis transport: several instances as one (shared delivery, history and stream counts). Needs `ioredis`. */
export { RedisSseTransport } from './redis.transport.js';
export type { RedisSseTransportOptions } from './redis-transport.options.js';
export { RedisTicketStore } from './redis-ticket.store.js';
