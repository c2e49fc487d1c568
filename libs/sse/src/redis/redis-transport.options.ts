import type { Redis, RedisOptions } from 'ioredis';

import { integerOption } from '../options/sse-options.resolver.js';

/**
 * Options of `RedisSseTransport`.
 *
 * @publicApi
 */
export interface RedisSseTransportOptions {
  /**
   * Where Redis is: a URL (`redis://127.0.0.1:6379`), ioredis options, or an
   * ioredis client. The transport makes its own connections from it (a client
   * is duplicated, never used nor closed by the transport), because it needs
   * one connection that blocks on reads and one whose commands wait in a queue
   * while Redis is away.
   */
  redis: string | RedisOptions | Redis;
  /** Prefix of every key the transport writes. Default `'sse:'`. */
  keyPrefix?: string;
  /** The cluster log every instance reads: about `maxLen` events are kept (`MAXLEN ~`). */
  log?: { maxLen?: number };
  /**
   * Replay history, in Redis Streams: `maxEvents` per user, per topic and for
   * broadcasts (exactly), and a resume from further back than `ttlMs` is
   * answered `too-old`. Defaults 1000 and 300000 (5 minutes), like the memory history.
   */
  history?: { maxEvents?: number; ttlMs?: number };
  /**
   * Publishes that may wait while Redis is unreachable (in the client's offline
   * queue, sent once it is back). Past it, a publish throws `SseTransportError`
   * at once. Default 10000.
   */
  maxPendingPublishes?: number;
  /** How long a stream's cluster-wide slot lives unless its instance renews it. Default 30000 ms. */
  slotTtlMs?: number;
  /** How often an instance renews its streams' slots; below `slotTtlMs`. Default 10000 ms. */
  slotRefreshMs?: number;
  /** How long `connect()` (the app's bootstrap) waits for Redis before failing. Default 10000 ms. */
  connectTimeoutMs?: number;
}

/** The keys of one transport, named in one place. */
export interface RedisSseKeys {
  /** The cluster log (a Stream) every instance reads. */
  readonly log: string;
  /** The id of the first event this Redis data set holds history for: older ids are unknown. */
  readonly epoch: string;
  /**
   * The newest restart point: the id of the log entry recorded when an instance found that Redis
   * lost events it had read (restarted from an older snapshot, or empty). The log and history are
   * whole after it; a resume from before it is answered `history-lost`.
   */
  readonly restart: string;
  /** A publishing instance's last batch number (see the publish script), by the instance's own random id. */
  writer(instanceId: string): string;
  readonly broadcasts: string;
  user(userId: string): string;
  topic(topic: string): string;
  /** One user's stream slots (a sorted set scored by expiry). */
  slots(userId: string): string;
  /** Every slot, for the cluster-wide total. */
  readonly allSlots: string;
  /** Stream tickets (RedisTicketStore): one ticket, by the SHA-256 of the ticket, never the ticket itself. */
  ticket(hash: string): string;
  /** What `ticket()` puts before the hash, for the scripts that drop tickets they find. */
  readonly ticketPrefix: string;
  /** One user's tickets, oldest first. */
  userTickets(userId: string): string;
  /** What `userTickets()` puts before the user id, for the scripts. */
  readonly userTicketsPrefix: string;
  /** Every outstanding ticket, by deadline. */
  readonly allTickets: string;
  /** Users by how many tickets they hold: whose ticket goes past `tickets.maxOutstanding`. */
  readonly ticketHolders: string;
}

export interface ResolvedRedisSseTransportOptions {
  redis: string | RedisOptions | Redis;
  keys: RedisSseKeys;
  logMaxLen: number;
  maxEvents: number;
  ttlMs: number;
  maxPendingPublishes: number;
  slotTtlMs: number;
  slotRefreshMs: number;
  connectTimeoutMs: number;
}

const OWNER = 'RedisSseTransport';

/** Applies defaults and fails fast on options that could not work. */
export function resolveRedisTransportOptions(options: RedisSseTransportOptions): ResolvedRedisSseTransportOptions {
  if (!options?.redis || (typeof options.redis !== 'string' && typeof options.redis !== 'object')) {
    throw new Error(`${OWNER}: redis (a URL, ioredis options or an ioredis client) is required`);
  }
  const prefix = options.keyPrefix ?? 'sse:';
  if (typeof prefix !== 'string') throw new Error(`${OWNER}: keyPrefix must be a string`);
  const positive = (name: string, value: number) => integerOption(OWNER, name, value, { min: 1 });
  const slotTtlMs = positive('slotTtlMs', options.slotTtlMs ?? 30_000);
  const slotRefreshMs = positive('slotRefreshMs', options.slotRefreshMs ?? 10_000);
  // A slot renewed less often than it expires would vanish under a live stream.
  if (slotRefreshMs >= slotTtlMs) {
    throw new Error(`${OWNER}: slotRefreshMs (${slotRefreshMs}) must be below slotTtlMs (${slotTtlMs})`);
  }
  return {
    redis: options.redis,
    keys: {
      log: `${prefix}log`,
      epoch: `${prefix}epoch`,
      restart: `${prefix}restart`,
      writer: (instanceId) => `${prefix}w:${instanceId}`,
      broadcasts: `${prefix}h:all`,
      user: (userId) => `${prefix}h:u:${userId}`,
      topic: (topic) => `${prefix}h:t:${topic}`,
      slots: (userId) => `${prefix}slots:${userId}`,
      allSlots: `${prefix}slots`,
      ticket: (hash) => `${prefix}tk:${hash}`,
      ticketPrefix: `${prefix}tk:`,
      userTickets: (userId) => `${prefix}tku:${userId}`,
      userTicketsPrefix: `${prefix}tku:`,
      allTickets: `${prefix}tks`,
      ticketHolders: `${prefix}tkh`,
    },
    logMaxLen: positive('log.maxLen', options.log?.maxLen ?? 100_000),
    maxEvents: positive('history.maxEvents', options.history?.maxEvents ?? 1000),
    ttlMs: positive('history.ttlMs', options.history?.ttlMs ?? 300_000),
    maxPendingPublishes: positive('maxPendingPublishes', options.maxPendingPublishes ?? 10_000),
    slotTtlMs,
    slotRefreshMs,
    connectTimeoutMs: positive('connectTimeoutMs', options.connectTimeoutMs ?? 10_000),
  };
}
