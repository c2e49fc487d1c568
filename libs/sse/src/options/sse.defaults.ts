/** Every default of the module, in one place. The wire rules and limits are the protocol's (`@nest-sse/protocol`). */

/**
 * Default `heartbeatIntervalMs`.
 *
 * @publicApi
 */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
/**
 * Default `maxConnectionsPerUser`.
 *
 * @publicApi
 */
export const DEFAULT_MAX_CONNECTIONS_PER_USER = 5;
/**
 * Default `retryMs`.
 *
 * @publicApi
 */
export const DEFAULT_RETRY_MS = 3_000;
/**
 * Default `retryJitterMs`: the most, in ms, added at random to the `retry:` hint
 * of a stream the server ends (shutdown, `maxConnections`) and to `Retry-After`,
 * so that clients turned away together do not all come back in the same millisecond.
 *
 * @publicApi
 */
export const DEFAULT_RETRY_JITTER_MS = 3_000;
/**
 * Default `shutdownTimeoutMs`: how long after shutdown begins the connections
 * still open are destroyed, so that `app.close()` (and the process) always finish.
 *
 * @publicApi
 */
export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 5_000;
/**
 * Default `maxConnections`: open streams across all users are not capped.
 *
 * @publicApi
 */
export const DEFAULT_MAX_CONNECTIONS = Number.POSITIVE_INFINITY;
export const DEFAULT_JWT_ALGORITHMS = ['HS256'] as const;
export const DEFAULT_USER_ID_CLAIM = 'sub';
export const DEFAULT_ROLES_CLAIM = 'roles';
/**
 * History kept for Last-Event-ID replay: per user (and for broadcasts), and by age.
 *
 * @publicApi
 */
export const DEFAULT_HISTORY_MAX_EVENTS = 1000;
/**
 * Default `history.ttlMs`: age after which kept events are dropped.
 *
 * @publicApi
 */
export const DEFAULT_HISTORY_TTL_MS = 5 * 60_000;
/**
 * Default `history.maxUsers`: users whose history is kept, the least recently
 * written evicted past it.
 *
 * @publicApi
 */
export const DEFAULT_HISTORY_MAX_USERS = 100_000;
/**
 * Default `history.maxTopics`: topics whose history is kept, the least recently
 * published to evicted past it.
 *
 * @publicApi
 */
export const DEFAULT_HISTORY_MAX_TOPICS = 100_000;
/**
 * Default `history.replayTimeoutMs`: a resume waits this long for the store.
 *
 * @publicApi
 */
export const DEFAULT_HISTORY_REPLAY_TIMEOUT_MS = 5_000;

/** Defaults of the route-shaping extras of `forRoot` / `forRootAsync`. */
export const DEFAULT_SSE_EXTRAS = {
  path: '/api/events',
  /** Bytes of unsent output a client may owe before it is dropped (Nest's `@Sse()` allows 4M characters). */
  maxPendingDataLength: 1024 * 1024,
  isGlobal: true,
  /** The built-in route is served unless `route: false`. */
  route: true,
} as const;
/**
 * Default `path` of the stream route.
 *
 * @publicApi
 */
export const DEFAULT_SSE_PATH = DEFAULT_SSE_EXTRAS.path;

/**
 * Default `tickets.ttlMs`: a stream ticket is redeemed within this long of its
 * issue, or never (long enough for a slow network, too short to be worth stealing).
 *
 * @publicApi
 */
export const DEFAULT_TICKET_TTL_MS = 30_000;
/**
 * Default `tickets.maxOutstanding`: tickets issued and not yet redeemed or
 * expired, for the whole server (a few MB); past it, a new ticket replaces the
 * oldest ticket of a user holding the most. Filled by 2,000 users holding the
 * default 5 each; a user holding one loses it only to 10,000 distinct users.
 *
 * @publicApi
 */
export const DEFAULT_TICKET_MAX_OUTSTANDING = 10_000;
/**
 * Default `tickets.maxPerUser`: one user's outstanding tickets; past it, the
 * user's new ticket replaces its oldest. As many as the default
 * `maxConnectionsPerUser`: a client redeems each ticket at once, so a user has
 * no more in flight than streams it is opening.
 *
 * @publicApi
 */
export const DEFAULT_TICKET_MAX_PER_USER = 5;
