import type { SseHistoryStore } from '../history/sse-history-store.interface.js';
import type { SseTransport } from '../transport/sse-transport.interface.js';
import {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HISTORY_MAX_EVENTS,
  DEFAULT_HISTORY_MAX_TOPICS,
  DEFAULT_HISTORY_MAX_USERS,
  DEFAULT_HISTORY_REPLAY_TIMEOUT_MS,
  DEFAULT_HISTORY_TTL_MS,
  DEFAULT_JWT_ALGORITHMS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_USER,
  DEFAULT_RETRY_JITTER_MS,
  DEFAULT_RETRY_MS,
  DEFAULT_ROLES_CLAIM,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_SSE_EXTRAS,
  DEFAULT_TICKET_MAX_OUTSTANDING,
  DEFAULT_TICKET_MAX_PER_USER,
  DEFAULT_TICKET_TTL_MS,
  DEFAULT_USER_ID_CLAIM,
} from './sse.defaults.js';
import type {
  SseCorsOptions,
  SseHistoryOptions,
  SseJwtOptions,
  SseModuleExtras,
  SseModuleOptions,
  SseTicketOptions,
} from './sse-options.interface.js';

export type ResolvedSseOptions = Required<
  Omit<SseModuleOptions, 'jwt' | 'cors' | 'history' | 'tickets' | 'transport'>
> & {
  transport?: SseTransport;
  jwt: Required<Pick<SseJwtOptions, 'algorithms' | 'userIdClaim' | 'rolesClaim' | 'clockToleranceSec' | 'requireExp'>> &
    SseJwtOptions;
  cors: Required<SseCorsOptions>;
  tickets: Required<Omit<SseTicketOptions, 'store'>> & Pick<SseTicketOptions, 'store'>;
  history: {
    enabled: boolean;
    maxEvents: number;
    maxUsers: number;
    maxTopics: number;
    ttlMs: number;
    replayTimeoutMs: number;
    store?: SseHistoryStore;
  };
};

export type ResolvedSseExtras = Required<SseModuleExtras>;

/** Longest delay a Node timer accepts. */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/** Most entries a V8 `Map` holds: history's users are kept in one, and its topics in another. */
export const MAX_HISTORY_USERS = 2 ** 24;

/** An integer option within bounds, or a startup error naming it (`owner` is the module it belongs to). */
export function integerOption(
  owner: string,
  name: string,
  value: number,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `between ${min} and ${max}`;
    throw new Error(`${owner}: ${name} must be an integer ${range}, got ${String(value)}`);
  }
  return value;
}

const option = (name: string, value: number, bounds?: { min?: number; max?: number }) =>
  integerOption('SseModule', name, value, bounds);

/** Applies defaults and fails fast on a configuration that could not work safely. */
export function resolveSseOptions(options: SseModuleOptions): ResolvedSseOptions {
  const jwt = options?.jwt;
  const keys = jwtKeySources(jwt);
  if (keys.length !== 1) {
    throw new Error(
      `SseModule: jwt needs exactly one of jwt.secret, jwt.publicKey or jwt.service${keys.length ? ` (got ${keys.join(' and ')})` : ''}`,
    );
  }
  if (jwt.service !== undefined && typeof jwt.service?.verify !== 'function') {
    throw new TypeError("SseModule: jwt.service must be the app's JwtService (from @nestjs/jwt), with verify()");
  }
  // A secret implies HMAC, hence the default; the app's service may hold any key, which the module cannot see.
  if (jwt.service !== undefined && !jwt.algorithms?.length) {
    throw new Error(
      "SseModule: jwt.algorithms is required with jwt.service: pin what the app's tokens are signed with, e.g. ['HS256']",
    );
  }
  const algorithms = jwt.algorithms?.length ? [...jwt.algorithms] : [...DEFAULT_JWT_ALGORITHMS];
  if (algorithms.some((a) => String(a).toLowerCase() === 'none')) {
    throw new Error("SseModule: the 'none' JWT algorithm is never accepted");
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
      rolesClaim: jwt.rolesClaim ?? DEFAULT_ROLES_CLAIM,
      clockToleranceSec: option('jwt.clockToleranceSec', jwt.clockToleranceSec ?? 0),
      requireExp: jwt.requireExp ?? true,
      maxTokenAgeSec:
        jwt.maxTokenAgeSec === undefined ? undefined : option('jwt.maxTokenAgeSec', jwt.maxTokenAgeSec, { min: 1 }),
    },
    heartbeatIntervalMs: option('heartbeatIntervalMs', options.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS, {
      max: MAX_TIMER_MS,
    }),
    heartbeatAs,
    maxConnectionsPerUser: option(
      'maxConnectionsPerUser',
      options.maxConnectionsPerUser ?? DEFAULT_MAX_CONNECTIONS_PER_USER,
      { min: 1 },
    ),
    retryMs: option('retryMs', options.retryMs ?? DEFAULT_RETRY_MS),
    retryJitterMs: option('retryJitterMs', options.retryJitterMs ?? DEFAULT_RETRY_JITTER_MS, { max: MAX_TIMER_MS }),
    maxConnections:
      options.maxConnections === undefined
        ? DEFAULT_MAX_CONNECTIONS
        : option('maxConnections', options.maxConnections, { min: 1 }),
    shutdownTimeoutMs: option('shutdownTimeoutMs', options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS, {
      max: MAX_TIMER_MS,
    }),
    cors: {
      origins: [...(options.cors?.origins ?? [])],
      credentials: options.cors?.credentials ?? false,
    },
    closeOnTokenExpiry: options.closeOnTokenExpiry ?? true,
    history: resolveHistory(options.history),
    tickets: resolveTickets(options.tickets),
    transport: resolveTransport(options.transport),
  };
}

/** The key options given (names only: an error must never show a key). Empty strings count as not given. */
function jwtKeySources(jwt: SseJwtOptions | undefined): string[] {
  if (!jwt) return [];
  const given: string[] = [];
  if (jwt.secret) given.push('jwt.secret');
  if (jwt.publicKey) given.push('jwt.publicKey');
  if (jwt.service !== undefined && jwt.service !== null) given.push('jwt.service');
  return given;
}

function resolveHistory(history: SseHistoryOptions | false | undefined): ResolvedSseOptions['history'] {
  if (history === false)
    return { enabled: false, maxEvents: 0, maxUsers: 0, maxTopics: 0, ttlMs: 0, replayTimeoutMs: 0 };
  return {
    enabled: true,
    maxEvents: option('history.maxEvents', history?.maxEvents ?? DEFAULT_HISTORY_MAX_EVENTS, { min: 1 }),
    ttlMs: option('history.ttlMs', history?.ttlMs ?? DEFAULT_HISTORY_TTL_MS, { min: 1 }),
    maxUsers: option('history.maxUsers', history?.maxUsers ?? DEFAULT_HISTORY_MAX_USERS, {
      min: 1,
      max: MAX_HISTORY_USERS,
    }),
    maxTopics: option('history.maxTopics', history?.maxTopics ?? DEFAULT_HISTORY_MAX_TOPICS, {
      min: 1,
      max: MAX_HISTORY_USERS,
    }),
    replayTimeoutMs: option('history.replayTimeoutMs', history?.replayTimeoutMs ?? DEFAULT_HISTORY_REPLAY_TIMEOUT_MS, {
      min: 1,
      max: MAX_TIMER_MS,
    }),
    store: history?.store,
  };
}

/** A ticket stands for a token in a URL: it must stay short-lived, or it is one. */
export const MAX_TICKET_TTL_MS = 5 * 60_000;

function resolveTickets(tickets: SseTicketOptions | undefined): ResolvedSseOptions['tickets'] {
  return {
    ttlMs: option('tickets.ttlMs', tickets?.ttlMs ?? DEFAULT_TICKET_TTL_MS, { min: 1, max: MAX_TICKET_TTL_MS }),
    maxOutstanding: option('tickets.maxOutstanding', tickets?.maxOutstanding ?? DEFAULT_TICKET_MAX_OUTSTANDING, {
      min: 1,
    }),
    maxPerUser: option('tickets.maxPerUser', tickets?.maxPerUser ?? DEFAULT_TICKET_MAX_PER_USER, { min: 1 }),
    store: tickets?.store,
  };
}

/**
 * The route-shaping extras. Nest spreads the caller's extras over the defaults,
 * so an explicit `undefined` arrives here and falls back to the default too.
 */
export function resolveSseExtras(extras: SseModuleExtras): ResolvedSseExtras {
  const path = extras.path ?? DEFAULT_SSE_EXTRAS.path;
  if (!path.startsWith('/')) throw new Error(`SseModule: path must start with '/', got '${path}'`);
  return {
    path,
    maxPendingDataLength: option(
      'maxPendingDataLength',
      extras.maxPendingDataLength ?? DEFAULT_SSE_EXTRAS.maxPendingDataLength,
      { min: 1 },
    ),
    isGlobal: extras.isGlobal ?? DEFAULT_SSE_EXTRAS.isGlobal,
    route: extras.route ?? DEFAULT_SSE_EXTRAS.route,
  };
}

/** The transport's shape is checked here, so a wrong object fails at bootstrap rather than on the first send. */
function resolveTransport(transport: SseTransport | undefined): SseTransport | undefined {
  if (transport === undefined) return undefined;
  for (const method of ['connect', 'publish', 'position', 'knows'] as const) {
    if (typeof transport?.[method] !== 'function') {
      throw new TypeError(`SseModule: transport must implement ${method}() (see SseTransport)`);
    }
  }
  return transport;
}
