/** The Redis transport: several instances as one (shared delivery, history and stream counts). Needs `ioredis`. */
export { RedisSseTransport } from './redis.transport.js';
export type { RedisSseTransportOptions } from './redis-transport.options.js';
/** The tickets store `createTicketStore` returns, as a type only: the module makes it (its constructor takes internal types). */
export type { RedisTicketStore } from './redis-ticket.store.js';
