import type { JwtVerifyOptions } from '@nestjs/jwt';

import type { SseHistoryStore } from '../history/sse-history-store.interface.js';
import type { SseTicketStore } from '../tickets/sse-ticket-store.interface.js';
import type { SseTransport } from '../transport/sse-transport.interface.js';

/**
 * A JWT signing algorithm the stream's tokens may use. `none` is not one: it is
 * refused at startup as well.
 *
 * @publicApi
 */
export type SseJwtAlgorithm =
  'HS256' | 'HS384' | 'HS512' | 'RS256' | 'RS384' | 'RS512' | 'ES256' | 'ES384' | 'ES512' | 'PS256' | 'PS384' | 'PS512';

/**
 * How `?token=` / `Authorization: Bearer` tokens are verified: with exactly one
 * of `secret`, `publicKey` or `service` (the app's own `JwtService`, so the key
 * is configured once, in its `JwtModule`).
 *
 * @example The app's JwtModule configuration, reused
 * ```ts
 * SseModule.forRootAsync({
 *   imports: [AuthModule], // exports JwtModule, or JwtModule.register({ global: true, ... })
 *   inject: [JwtService],
 *   useFactory: (jwt: JwtService) => ({ jwt: { service: jwt, algorithms: ['HS256'] } }),
 * })
 * ```
 *
 * @publicApi
 */
export interface SseJwtOptions {
  /**
   * HMAC secret (HS256/384/512). Exactly one of `secret`, `publicKey` or `service`.
   * Prepared once as a key object, so no verify parses it again.
   */
  secret?: string | Buffer;
  /** PEM public key for RS*, ES* or PS* algorithms. Exactly one of `secret`, `publicKey` or `service`. */
  publicKey?: string | Buffer;
  /**
   * The app's `JwtService` (from `@nestjs/jwt`), injected through `forRootAsync`: tokens are
   * verified with its key (`secret`, `publicKey`, or a synchronous `secretOrKeyProvider`), so the
   * key is configured only in the app's `JwtModule`. Exactly one of `secret`, `publicKey` or `service`.
   * An `async` `secretOrKeyProvider` cannot serve (the stream verifies synchronously) and fails at startup;
   * one that returns a Promise without being declared `async` makes every token a 401, logged once.
   *
   * Each verify passes the stream's own rules to it, over the service's `verifyOptions`:
   * `algorithms` (required with `service`: the module cannot see which key the service holds),
   * `clockToleranceSec`, and `exp`/`nbf` always checked (a service's `ignoreExpiration` or
   * `ignoreNotBefore` does not apply); `issuer` and `audience` when set here, else the
   * service's own. `requireExp`, `maxTokenAgeSec`, the claims and `isRevoked` apply as with a secret.
   * A plain `secret` or PEM `publicKey` of the service is prepared once, as `jwt.secret` would be.
   * Whatever the service's `verify` does, the stream then checks the token's header `alg` against
   * `algorithms` and its `exp`/`nbf` (with `clockToleranceSec`) itself.
   */
  service?: { verify(token: string, options?: JwtVerifyOptions): object };
  /**
   * Accepted algorithms, pinned. Default `['HS256']` (name the RS/ES/PS ones with `publicKey`);
   * required with `service`. `none` is refused at startup.
   */
  algorithms?: SseJwtAlgorithm[];
  /** Required `iss`: one issuer, or any of several. With `service`, unset keeps the service's `verifyOptions.issuer`. */
  issuer?: string | [string, ...string[]];
  /**
   * Required `aud`: a value or pattern, or any of several. With `service`, unset keeps the
   * service's `verifyOptions.audience`.
   */
  audience?: string | RegExp | [string | RegExp, ...(string | RegExp)[]];
  /** Seconds of clock skew tolerated on `exp` and `nbf` (with `service` too, over its own). Default 0. */
  clockToleranceSec?: number;
  /** The claim holding the user id. Default `sub`. */
  userIdClaim?: string;
  /**
   * The claim holding the user's roles (an array of strings), copied to
   * `SseUser.roles` for `@SseTopic()` policies; anything else there is no roles.
   * Default `roles`.
   */
  rolesClaim?: string;
  /**
   * Refuse tokens without `exp` (401): a stream would otherwise never end with
   * its token. Default true.
   */
  requireExp?: boolean;
  /**
   * Refuse tokens whose `exp` lies more than this many seconds after their `iat`
   * (or after now, without `iat`): a stream lasts at most this long. Unset by default.
   */
  maxTokenAgeSec?: number;
  /**
   * Checked on every connect and reconnect, after the signature: `true` refuses
   * the token (401 `Token revoked`), e.g. after a logout. May be async; with
   * `forRootAsync` it can use the app's own services. End a logged-out user's
   * open streams at once with `SseService.disconnectUser()`.
   */
  isRevoked?: (claims: Record<string, unknown>) => boolean | Promise<boolean>;
}

/**
 * CORS for the stream route only; the app's own CORS policy is untouched.
 *
 * @publicApi
 */
export interface SseCorsOptions {
  /** Origins allowed to open streams from a browser. None by default. */
  origins?: string[];
  /** Send `Access-Control-Allow-Credentials: true` for allowed origins. */
  credentials?: boolean;
}

/**
 * Stream tickets: what `POST <path>` issues and `GET <path>?ticket=` redeems once.
 *
 * @publicApi
 */
export interface SseTicketOptions {
  /** How long a ticket can be redeemed after its issue. Default 30000; at most 300000. */
  ttlMs?: number;
  /**
   * Tickets outstanding (issued, not yet redeemed or expired) in the server: a
   * memory bound, never a refusal. Past it, a new ticket replaces the oldest
   * ticket of a user holding the most, so a user holding one keeps it until as
   * many users as this hold one each. Default 10000.
   */
  maxOutstanding?: number;
  /** Tickets outstanding for one user; past it, the user's new ticket replaces its oldest. Default 5. */
  maxPerUser?: number;
  /**
   * Where tickets live. Default: the transport's shared store when it has one
   * (`RedisSseTransport`: a ticket issued by any instance opens a stream on any
   * other, once), else this process's memory (`MemoryTicketStore`). A store given
   * here wins over both, and applies its own limits (the three above are what the
   * module hands the stores it makes).
   */
  store?: SseTicketStore;
}

/**
 * Bounded history of published events, for Last-Event-ID replay.
 *
 * @publicApi
 */
export interface SseHistoryOptions {
  /** Events kept per user, per topic, and for broadcasts. Default 1000. */
  maxEvents?: number;
  /** Age after which events are dropped. Default 300000 (5 minutes). */
  ttlMs?: number;
  /**
   * Users whose events are kept (in memory, about 220 bytes each plus their events).
   * Past it, the user written to least recently is forgotten: a resume from before
   * what it held gets a `too-old` reset. Broadcasts are not affected. Default 100000.
   */
  maxUsers?: number;
  /**
   * Topics whose events are kept (in memory, like a user's log). Past it, the
   * topic published to least recently is forgotten: a resume subscribed to it
   * from before what it held gets a `too-old` reset. Default 100000.
   */
  maxTopics?: number;
  /** Replaces the in-memory default (`MemoryHistoryStore`). */
  store?: SseHistoryStore;
  /**
   * How long a resume waits for the store's answer before it starts with a
   * `history-unavailable` reset instead. Default 5000.
   */
  replayTimeoutMs?: number;
}

/**
 * Options of `SseModule.forRoot()` / the factory of `forRootAsync()`.
 *
 * @publicApi
 */
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
  /**
   * Streams the server ends itself (at shutdown, or past `maxConnections`) end
   * with `retry: retryMs + r`, r a random integer from 0 to this, and a 503's
   * `Retry-After` is that many seconds (rounded up): clients turned away together
   * come back spread out. Default 3000; 0 for none.
   */
  retryJitterMs?: number;
  /**
   * Open streams across all users. Past it, a new stream is answered 200 with a
   * jittered `retry:` hint and ended at once (EventSource treats any other status
   * as final, so the browser comes back later), holding no slot, and counted by
   * `SseService.rejectedConnectionCount()`. Unlimited by default.
   */
  maxConnections?: number;
  /**
   * Once shutdown begins, new streams get 503 and open ones end with a jittered
   * `retry:` hint; connections still open this many ms later (a client that does
   * not read what is left) are destroyed, so `app.close()` always finishes. Default 5000.
   */
  shutdownTimeoutMs?: number;
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
  /**
   * Stream tickets, so browsers keep tokens out of URLs: `POST <path>` with
   * `Authorization: Bearer` answers a short-lived, single-use ticket for
   * `GET <path>?ticket=`.
   */
  tickets?: SseTicketOptions;
  /**
   * How events reach streams and where their ids come from. Default: this
   * process (`MemorySseTransport`). For several instances, a cluster transport
   * such as `RedisSseTransport` from `@nest-sse/server/redis`, which also brings
   * the shared history (so `history.store` is not used with it).
   */
  transport?: SseTransport;
}

/**
 * Options fixed when the module is defined, because they shape the route itself.
 *
 * @publicApi
 */
export interface SseModuleExtras {
  /** Route of the stream. Default `/api/events` (under any global prefix the app sets). */
  path?: string;
  /** Bytes of unsent output a slow client may owe before it is dropped. Default 1 MiB. */
  maxPendingDataLength?: number;
  /** Register the module globally. Default true, so `SseService` is injectable anywhere. */
  isGlobal?: boolean;
  /**
   * Serve the built-in stream route (and its CORS middleware) at `path`. Default true;
   * `false` for apps that stream only from their own routes (`SseService.stream()`).
   */
  route?: boolean;
}
