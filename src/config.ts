import { randomBytes } from 'node:crypto';

/** The demo's settings, read once from the environment. */
export interface AppConfig {
  port: number;
  jwtSecret: string;
  /** True when JWT_SECRET was not set and a throwaway secret was generated. */
  jwtSecretGenerated: boolean;
  heartbeatMs?: number;
  maxConnectionsPerUser?: number;
  corsOrigins: string[];
  production: boolean;
  /**
   * The dev-token route (`POST /api/dev/token`): only for local development, so only
   * when the secret is the generated one or `DEV_TOKENS=1`, and never with `NODE_ENV=production`.
   */
  devTokens: boolean;
  /** Delay before the simulated shipment of an order. */
  shipDelayMs: number;
  /** Orders kept per user (`ORDERS_MAX_PER_USER`): past it, the user's oldest is dropped. */
  maxOrdersPerUser: number;
  /** How long a client may take to send a whole request (`server.requestTimeout`); 0 for no limit. Streams are not affected. */
  httpRequestTimeoutMs: number;
  /**
   * How long a client may take to send a request's head (`server.headersTimeout`); at most `httpRequestTimeoutMs`
   * when that is set, 5 s by default even when it is 0; 0 (none) only when asked for.
   */
  httpHeadersTimeoutMs: number;
  /**
   * Connections the kernel queues while the app is busy (Node's default is 511):
   * when every client reconnects at once, the ones past it are dropped and wait
   * for TCP to retry their SYN (1 s, 3 s, 7 s...).
   */
  listenBacklog: number;
  /**
   * Where the streams' events go: `memory` (one process, the default) or
   * `redis` (several instances as one, through `redisUrl`).
   */
  sseTransport: SseTransportKind;
  /** Set exactly when `sseTransport` is `redis`. Holds any password: log it only through `redactUrl`. */
  redisUrl?: string;
}

/**
 * HTTP_REQUEST_TIMEOUT_MS and HTTP_HEADERS_TIMEOUT_MS: the demo's requests are a
 * head and at most a small JSON body, sent in well under a second; Node's own
 * defaults (300 s and 60 s) let a slow client hold a socket for minutes.
 */
export const DEFAULT_HTTP_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_HTTP_HEADERS_TIMEOUT_MS = 5_000;

/** A user's newest orders the demo keeps (ORDERS_MAX_PER_USER): far more than a dashboard shows, a few MB at most. */
export const DEFAULT_MAX_ORDERS_PER_USER = 1_000;

export const SSE_TRANSPORTS = ['memory', 'redis'] as const;
export type SseTransportKind = (typeof SSE_TRANSPORTS)[number];

function optionalInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name} must be a non-negative integer, got '${raw}'`);
  return value;
}

function positiveInt(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const raw = env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got '${raw}'`);
  return value;
}

function sseTransport(env: NodeJS.ProcessEnv): SseTransportKind {
  const raw = env.SSE_TRANSPORT || 'memory';
  if (!(SSE_TRANSPORTS as readonly string[]).includes(raw)) {
    throw new Error(`SSE_TRANSPORT must be one of ${SSE_TRANSPORTS.join(', ')}, got '${raw}'`);
  }
  return raw as SseTransportKind;
}

/** REDIS_URL, checked; errors never repeat it, since it may carry a password. */
function redisUrl(env: NodeJS.ProcessEnv): string {
  const raw = env.REDIS_URL;
  if (!raw) throw new Error('SSE_TRANSPORT=redis needs REDIS_URL (for example redis://127.0.0.1:6379)');
  const protocol = URL.canParse(raw) ? new URL(raw).protocol : undefined;
  if (protocol !== 'redis:' && protocol !== 'rediss:') {
    throw new Error('REDIS_URL must be a redis:// or rediss:// URL: redis://[[user]:password@]host[:port][/db]');
  }
  return raw;
}

/** A URL fit for logs: any password replaced by `***`. */
export function redactUrl(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = '***';
  return url.toString();
}

/** The longest HTTP timeout the demo takes (2^31 - 1 ms, about 24.8 days): anything longer is a typo, not a limit. */
export const MAX_HTTP_TIMEOUT_MS = 2 ** 31 - 1;

/** A timeout in milliseconds, 0 (none) to MAX_HTTP_TIMEOUT_MS. */
function timeoutMs(env: NodeJS.ProcessEnv, name: string): number | undefined {
  const value = optionalInt(env, name);
  if (value !== undefined && value > MAX_HTTP_TIMEOUT_MS) {
    throw new Error(`${name} must be at most ${MAX_HTTP_TIMEOUT_MS} ms (about 24.8 days), got '${env[name]}'`);
  }
  return value;
}

/**
 * Node refuses a head timeout longer than the whole request's (or none beside a set one): so does the demo, at startup.
 * With no request timeout (`HTTP_REQUEST_TIMEOUT_MS=0`) the head keeps its own 5 s unless `HTTP_HEADERS_TIMEOUT_MS`
 * says otherwise: a head that dribbles in (slowloris) is cut off either way, and only an explicit 0 for both turns off both.
 */
function httpTimeouts(env: NodeJS.ProcessEnv): Pick<AppConfig, 'httpRequestTimeoutMs' | 'httpHeadersTimeoutMs'> {
  const httpRequestTimeoutMs = timeoutMs(env, 'HTTP_REQUEST_TIMEOUT_MS') ?? DEFAULT_HTTP_REQUEST_TIMEOUT_MS;
  const httpHeadersTimeoutMs =
    timeoutMs(env, 'HTTP_HEADERS_TIMEOUT_MS') ??
    (httpRequestTimeoutMs === 0
      ? DEFAULT_HTTP_HEADERS_TIMEOUT_MS
      : Math.min(DEFAULT_HTTP_HEADERS_TIMEOUT_MS, httpRequestTimeoutMs));
  if (httpRequestTimeoutMs > 0 && (httpHeadersTimeoutMs === 0 || httpHeadersTimeoutMs > httpRequestTimeoutMs)) {
    throw new Error(
      `HTTP_HEADERS_TIMEOUT_MS must be between 1 and HTTP_REQUEST_TIMEOUT_MS (${httpRequestTimeoutMs}), got ${httpHeadersTimeoutMs}`,
    );
  }
  return { httpRequestTimeoutMs, httpHeadersTimeoutMs };
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): AppConfig {
  const secret = env.JWT_SECRET;
  const transport = sseTransport(env);
  return {
    port: optionalInt(env, 'PORT') ?? 3000,
    jwtSecret: secret || randomBytes(32).toString('hex'),
    jwtSecretGenerated: !secret,
    heartbeatMs: optionalInt(env, 'SSE_HEARTBEAT_MS'),
    maxConnectionsPerUser: optionalInt(env, 'SSE_MAX_CONNECTIONS_PER_USER'),
    corsOrigins: (env.CORS_ORIGINS ?? '')
      .split(',')
      .map((o) => o.trim())
      .filter(Boolean),
    production: env.NODE_ENV === 'production',
    devTokens: env.NODE_ENV !== 'production' && (!secret || env.DEV_TOKENS === '1'),
    shipDelayMs: optionalInt(env, 'SHIP_DELAY_MS') ?? 3000,
    maxOrdersPerUser: positiveInt(env, 'ORDERS_MAX_PER_USER') ?? DEFAULT_MAX_ORDERS_PER_USER,
    ...httpTimeouts(env),
    listenBacklog: optionalInt(env, 'LISTEN_BACKLOG') || 4096,
    sseTransport: transport,
    redisUrl: transport === 'redis' ? redisUrl(env) : undefined,
  };
}
