import type { Algorithm, VerifyOptions } from 'jsonwebtoken';
import type { SseHistoryStore } from './history/sse-history-store.interface.js';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HISTORY_MAX_EVENTS,
  DEFAULT_HISTORY_TTL_MS,
  DEFAULT_JWT_ALGORITHMS,
  DEFAULT_MAX_CONNECTIONS_PER_USER,
  DEFAULT_RETRY_MS,
  DEFAULT_USER_ID_CLAIM,
} from './sse.constants.js';

/** How `?token=` / `Authorization: Bearer` tokens are verified. */
export interface SseJwtOptions {
  /** HMAC secret (HS256/384/512). One of `secret` or `publicKey` is required. */
  secret?: string | Buffer;
  /** PEM public key for RS*, ES* or PS* algorithms. */
  publicKey?: string | Buffer;
  /** Accepted algorithms, pinned. Default `['HS256']`; `none` is refused. */
  algorithms?: Algorithm[];
  issuer?: VerifyOptions['issuer'];
  audience?: VerifyOptions['audience'];
  /** Seconds of clock skew tolerated on `exp` and `nbf`. Default 0. */
  clockToleranceSec?: number;
  /** The claim holding the user id. Default `sub`. */
  userIdClaim?: string;
}

export interface SseCorsOptions {
  /** Origins allowed to open streams from a browser. None by default. */
  origins?: string[];
  /** Send `Access-Control-Allow-Credentials: true` for allowed origins. */
  credentials?: boolean;
}

/** Bounded history of published events, for Last-Event-ID replay. */
export interface SseHistoryOptions {
  /** Events kept per user, and for broadcasts. Default 1000. */
  maxEvents?: number;
  /** Age after which events are dropped. Default 300000 (5 minutes). */
  ttlMs?: number;
  /** Replaces the in-memory default (e.g. a shared store for several instances). */
  store?: SseHistoryStore;
}

/** Options of `SseModule.forRoot()` / the factory of `forRootAsync()`. */
export interface SseModuleOptions {
  jwt: SseJwtOptions;
  /** Interval of the keep-alive sent on every open stream. Default 30000. 0 disables it. */
  heartbeatIntervalMs?: number;
  /**
   * `comment` (default) sends `: heartbeat`, invisible to EventSource listeners;
   * `event` sends a named `heartbeat` event that a client-side watchdog can observe.
   */
  heartbeatAs?: 'comment' | 'event';
  /** Concurrent streams per user; the next one gets 429. Default 5. */
  maxConnectionsPerUser?: number;
  /** Reconnection delay suggested to clients in the `retry:` field. Default 3000. */
  retryMs?: number;
  cors?: SseCorsOptions;
  /**
   * End a stream (after an `auth-expired` event) when its token's `exp` passes,
   * since guards only run when a stream opens. Default true.
   */
  closeOnTokenExpiry?: boolean;
  /**
   * History for resuming after a reconnect (default: in memory, 1000 events per
   * user, 5 minutes). `false` keeps none: a resuming client then gets a `reset`,
   * and callers may supply their own wire-safe event ids.
   */
  history?: SseHistoryOptions | false;
}

/** Options fixed when the module is defined, because they shape the route itself. */
export interface SseModuleExtras {
  /** Route of the stream. Default `/api/events` (under any global prefix the app sets). */
  path?: string;
  /** Bytes of unsent output a slow client may owe before it is dropped. Default 1 MiB. */
  maxPendingDataLength?: number;
  /** Register the module globally. Default true, so `SseService` is injectable anywhere. */
  isGlobal?: boolean;
}

export type ResolvedSseOptions = Required<Omit<SseModuleOptions, 'jwt' | 'cors' | 'history'>> & {
  jwt: Required<Pick<SseJwtOptions, 'algorithms' | 'userIdClaim' | 'clockToleranceSec'>> & SseJwtOptions;
  cors: Required<SseCorsOptions>;
  history: { enabled: boolean; maxEvents: number; ttlMs: number; store?: SseHistoryStore };
};

function nonNegativeInteger(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new Error(`SseModule: ${name} must be a non-negative integer, got ${String(value)}`);
  }
  return value;
}

/** Applies defaults and fails fast on a configuration that could not work safely. */
export function resolveSseOptions(options: SseModuleOptions): ResolvedSseOptions {
  const jwt = options?.jwt;
  if (!jwt || (!jwt.secret && !jwt.publicKey)) {
    throw new Error('SseModule: jwt.secret or jwt.publicKey is required');
  }
  const algorithms = jwt.algorithms?.length ? [...jwt.algorithms] : [...DEFAULT_JWT_ALGORITHMS];
  if (algorithms.some((a) => String(a).toLowerCase() === 'none')) {
    throw new Error("SseModule: the 'none' JWT algorithm is never accepted");
  }
  const maxConnectionsPerUser = options.maxConnectionsPerUser ?? DEFAULT_MAX_CONNECTIONS_PER_USER;
  if (!Number.isInteger(maxConnectionsPerUser) || maxConnectionsPerUser < 1) {
    throw new Error('SseModule: maxConnectionsPerUser must be an integer >= 1');
  }
  const heartbeatAs = options.heartbeatAs ?? 'comment';
  if (heartbeatAs !== 'comment' && heartbeatAs !== 'event') {
    throw new Error("SseModule: heartbeatAs must be 'comment' or 'event'");
  }
  return {
    jwt: {
      ...jwt,
      algorithms,
      userIdClaim: jwt.userIdClaim ?? DEFAULT_USER_ID_CLAIM,
      clockToleranceSec: nonNegativeInteger('jwt.clockToleranceSec', jwt.clockToleranceSec ?? 0),
    },
    heartbeatIntervalMs: nonNegativeInteger(
      'heartbeatIntervalMs',
      options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    ),
    heartbeatAs,
    maxConnectionsPerUser,
    retryMs: nonNegativeInteger('retryMs', options.retryMs ?? DEFAULT_RETRY_MS),
    cors: {
      origins: [...(options.cors?.origins ?? [])],
      credentials: options.cors?.credentials ?? false,
    },
    closeOnTokenExpiry: options.closeOnTokenExpiry ?? true,
    history: resolveHistory(options.history),
  };
}

function resolveHistory(history: SseHistoryOptions | false | undefined): ResolvedSseOptions['history'] {
  if (history === false) return { enabled: false, maxEvents: 0, ttlMs: 0 };
  const maxEvents = history?.maxEvents ?? DEFAULT_HISTORY_MAX_EVENTS;
  if (!Number.isInteger(maxEvents) || maxEvents < 1) {
    throw new Error('SseModule: history.maxEvents must be an integer >= 1');
  }
  const ttlMs = history?.ttlMs ?? DEFAULT_HISTORY_TTL_MS;
  if (!Number.isFinite(ttlMs) || ttlMs < 1) throw new Error('SseModule: history.ttlMs must be >= 1');
  return { enabled: true, maxEvents, ttlMs, store: history?.store };
}
