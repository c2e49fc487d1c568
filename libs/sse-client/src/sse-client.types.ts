import type { SSE_EVENT_TYPES, SseResetReason } from '@nest-sse/protocol';

import type { SseBackoffOptions } from './backoff.js';
import type { SseBroadcastChannelLike, SseLockManagerLike } from './share/tab-share.protocol.js';
import type { SseClientError } from './sse-client.errors.js';

/**
 * Where the client is:
 * - `connecting`: the first connection is being established (or its token or ticket fetched);
 * - `open`: the stream is live;
 * - `reconnecting`: the browser is reconnecting by itself, or the client is waiting
 *   out its backoff / fetching a token / opening a replacement EventSource;
 * - `closed`: `close()` was called;
 * - `error`: the client gave up (see `SseClientOptions.maxRecoveries` and `getToken`);
 * - `unauthorized`: the server refused the credential (HTTP 401) `maxAuthFailures` times in a
 *   row, each time a fresh one where the client can get it (`getToken`, `getTicket`): the client
 *   stopped. `error.reason` says why, when the server said (`expired`, `revoked`...): sign the
 *   user in again (or out), then create a new client (in `useSSE`: change `key`).
 */
export type SseStatus = 'connecting' | 'open' | 'reconnecting' | 'closed' | 'error' | 'unauthorized';

/**
 * Why the status changed (the third argument of `onStatus`, and `statusReason`):
 * - `opened` (to `open`): a connection opened: the first one, the browser's own
 *   reconnect, or a replacement EventSource;
 * - `dropped` (to `reconnecting`): the stream dropped or could not be reached, and the
 *   browser reconnects by itself, sending Last-Event-ID (with `getTicket`, the client
 *   does, after the backoff, with a new ticket and `?lastEventId=`);
 * - `refused` (to `reconnecting`): the EventSource gave up (an answer other than a 200
 *   event stream: 401, 429, 503...); a replacement follows after the backoff. A browser's
 *   EventSource does not say which status it got, so a 403 is this too there;
 * - `auth-expired` (to `reconnecting`): the server said the token expired; a replacement
 *   with a fresh token follows. `onStatus` runs before `onAuthExpired` for that event;
 * - `token-failed` (to `reconnecting`): `getToken()` or `getTicket()` rejected or resolved
 *   to something unusable; retried after the backoff;
 * - `gave-up` (to `error`): `maxRecoveries` consecutive recoveries failed;
 * - `no-session` (to `error`): `getToken()` or `getTicket()` resolved `null`;
 * - `url-refused` (to `error`): the EventSource constructor threw for this URL;
 * - `forbidden` (to `error`): the server answered 403 (a refused topic, or a user it
 *   forbids), and the client could see it: the ticket request of `fetchSseTicket`, or an
 *   EventSource implementation that reports the status (not the browser's). Retrying would
 *   get the same answer;
 * - `unauthorized` (to `unauthorized`): `maxAuthFailures` consecutive 401s (the ticket request's,
 *   the stream's as the EventSource reports it or the client's `HEAD` finds it; with
 *   `getTicket`, a stream's only when its category is not `ticket`);
 * - `unsupported` (to `error`): only `useSSE`'s `statusReason`, when the client could not be created (no EventSource);
 * - `closed` (to `closed`): `close()` was called (and `useSSE`'s `statusReason` when it is disabled or has no url).
 *
 * A reason belongs to a change: while `reconnecting`, a later cause (say, the browser's
 * own reconnect refused) does not change the status, so it reports nothing new.
 */
export type SseStatusReason =
  | 'opened'
  | 'dropped'
  | 'refused'
  | 'auth-expired'
  | 'token-failed'
  | 'gave-up'
  | 'no-session'
  | 'url-refused'
  | 'forbidden'
  | 'unauthorized'
  | 'unsupported'
  | 'closed';

/**
 * Event type to the type of its (JSON-decoded) data. Unknown types default to `unknown`.
 * Declare the app's map once, as an interface, and give the same one to the server
 * (`SseService<AppEvents>`, the bridge decorators) and to `SseClient<AppEvents>` /
 * `useSSE<AppEvents>`: a handler for a type the map does not name, or one expecting
 * other data, then fails compilation.
 */
export type SseEventMap = Record<string, unknown>;

/** `data` of the server's `reset` event: it could not resume from the given Last-Event-ID. */
export interface SseResetData {
  /**
   * One of the server's `SSE_RESET_REASONS`; left open to other strings because another
   * server version may send others, and data that is not JSON arrives as `'unknown'`.
   */
  reason: SseResetReason | (string & {});
}

/** `data` of the server's `auth-expired` event: the token expired and the stream is ending. */
export interface SseAuthExpiredData {
  reason: string;
}

/**
 * The events the server sends, with their data types; extend it for your own payloads.
 * The names are the server's own (`SSE_EVENT_TYPES` of `@nest-sse/protocol`).
 */
export interface SseServerEvents {
  [SSE_EVENT_TYPES.notification]: unknown;
  [SSE_EVENT_TYPES.update]: unknown;
  [SSE_EVENT_TYPES.heartbeat]: null;
  /**
   * Only on a shared stream (`?shared=1`): its opening, with the stream's position as its id (the
   * client resumes from it, but it is not an event of yours: it does not move `lastEventId`).
   */
  [SSE_EVENT_TYPES.connected]: null;
  [SSE_EVENT_TYPES.reset]: SseResetData;
  [SSE_EVENT_TYPES.authExpired]: SseAuthExpiredData;
}

/** Receives the JSON-decoded `data` and the raw `MessageEvent` (its `data` is the JSON text). */
export type SseHandler<T = unknown> = (data: T, event: MessageEvent<string>) => void;

/** The data type of event `K` in `TEvents`, `unknown` when `TEvents` does not name it. */
export type SseEventData<TEvents, K extends string> = K extends keyof TEvents ? TEvents[K] : unknown;

/** Handlers by event type. `message` receives events sent without an `event:` line. */
export type SseHandlers<TEvents extends object = SseEventMap> = {
  [K in keyof TEvents & string]?: SseHandler<TEvents[K]>;
};

/** What the client needs from an EventSource: the browser's, the `eventsource` package's, or a fake. */
export interface SseEventSourceLike {
  readonly readyState: number;
  readonly url: string;
  addEventListener(type: string, listener: (event: Event) => void): void;
  removeEventListener(type: string, listener: (event: Event) => void): void;
  close(): void;
}

export interface SseEventSourceConstructor {
  new (url: string, init?: { withCredentials?: boolean }): SseEventSourceLike;
}

/**
 * Resolves to the token to put in the `token` query parameter,
 * or to `null` when there is no session any more: the client then stops (`error`).
 * A rejection counts as a failed recovery attempt and is retried with backoff.
 */
export type SseGetToken = () => Promise<string | null> | string | null;

/** What a ticket is asked for: the client's `topics`, for the ticket to carry. */
export interface SseTicketRequest {
  /** Checked and without duplicates; empty when the client has none. */
  topics: readonly string[];
}

/**
 * Resolves to a new stream ticket for the `ticket` query parameter (the server's
 * `POST` on the stream route, e.g. through `fetchSseTicket(url, token, { topics })`), or to
 * `null` when there is no session any more: the client then stops (`error`).
 * A rejection counts as a failed connection and is retried with backoff, except an
 * `SseClientError` with `httpStatus` 403 (as `fetchSseTicket` rejects on a 403), which stops (`forbidden`).
 */
export type SseGetTicket = (request: SseTicketRequest) => Promise<string | null> | string | null;

export interface SseClientOptions<TEvents extends object = SseEventMap> {
  /** Token for the first connection (`?token=`). Reused on recovery when there is no `getToken`. */
  token?: string;
  /**
   * The recommended way in browsers: called before every connection, the first one
   * and each replacement, for a single-use ticket that goes in the URL instead of the
   * token (which URLs leak to logs, history and Referer). Excludes `token` and `getToken`.
   */
  getTicket?: SseGetTicket;
  /**
   * Topics every connection (the first and each replacement) subscribes to, besides the
   * user's own events and broadcasts: repeated `topic` query parameters on the stream URL,
   * or, with `getTicket`, in the ticket request (`getTicket({ topics })`: pass them on to
   * `fetchSseTicket`). Checked with the server's rule (`checkTopics`: `topicProblem`, at most
   * `SSE_LIMITS.topicsPerStream`) when the client is created, which throws a `TypeError` on a
   * bad one; duplicates are removed. A topic the server refuses is a 403: see the `forbidden` and
   * `refused` status reasons.
   */
  topics?: readonly string[];
  /**
   * Called before every replacement EventSource (and before the first one when `token`
   * is not given), so a recovery after a 401 or `auth-expired` uses a fresh token.
   */
  getToken?: SseGetToken;
  /** Handlers by event type; the data is JSON-decoded first. */
  handlers?: SseHandlers<TEvents>;
  /** The server could not resume from our Last-Event-ID: reload your state. The stream continues. */
  onReset?: (data: SseResetData, event: MessageEvent<string>) => void;
  /** The token expired; the client is already reconnecting with a fresh one. */
  onAuthExpired?: (data: SseAuthExpiredData, event: MessageEvent<string>) => void;
  /** Called on every status change (not for the initial `connecting`), with its reason. */
  onStatus?: (status: SseStatus, previous: SseStatus, reason: SseStatusReason) => void;
  /** Parse errors, handler exceptions, connection failures, token failures, giving up. Never thrown. */
  onError?: (error: SseClientError) => void;
  /** A shared stream's leadership moved to this client (`leader`) or away from it (`follower`), or it went solo (`none`). */
  onShareRole?: (role: SseShareRole) => void;
  /**
   * Called whenever `lastEventId` changes: the id of an event the stream brought. A shared
   * stream's opening (`connected`) and `heartbeat` events do not count: they only repeat where
   * the stream stands (the client still resumes from there).
   */
  onLastEventId?: (lastEventId: string) => void;
  /**
   * Called whenever the stream's position moves: every id the stream brought, including a
   * shared stream's opening (`connected`) and `heartbeat` events, which `onLastEventId`
   * skips. The id a new client resumes from without missing anything: store it for a page
   * reload and pass it back as `lastEventId`.
   */
  onPosition?: (position: string) => void;
  /** Passed to the EventSource (cookies on cross-origin requests). */
  withCredentials?: boolean;
  /** Delays between replacement EventSources after a permanent failure. */
  backoff?: SseBackoffOptions;
  /**
   * Consecutive recoveries (new EventSources after a permanent failure) without a healthy
   * connection in between before the client gives up with status `error`. Default: Infinity.
   */
  maxRecoveries?: number;
  /**
   * Consecutive authentication failures (HTTP 401) after which the client stops with status
   * `unauthorized` and an `SseClientError` (code `unauthorized`, `reason` the server's category when
   * it said) instead of retrying. Counted: a 401 to the ticket request (`fetchSseTicket` rejects so),
   * and a 401 to the stream itself, as the EventSource reports it, or as the client's `HEAD` of the
   * stream URL finds it after a browser's EventSource failed without saying why. With `getTicket`,
   * a refused stream is asked a `HEAD` with its spent ticket: a 401 `ticket` (the ticket's own) does
   * not count, another category does (a route whose guard takes no tickets answers `missing`). Every
   * attempt uses the freshest credential the client can get (`getToken()` / `getTicket()` are asked
   * again; a fixed `token` is reused). A connection that opens resets the count, and a ticket obtained
   * too unless a ticket's stream was refused for another reason since. Default 3; at least 1;
   * `Infinity` retries 401s like any refusal (up to `maxRecoveries`).
   */
  maxAuthFailures?: number;
  /** EventSource implementation; defaults to `globalThis.EventSource`. */
  EventSource?: SseEventSourceConstructor;
  /** Resume after this event id on the first connection (`?lastEventId=`). */
  lastEventId?: string;
  /**
   * One stream per browser, shared by its tabs (default in a page): see `SseShareOptions`.
   * `false` opens this client's own stream, as does any place without `BroadcastChannel`
   * (old browsers, some embedded views, server-side rendering). Read once, at creation.
   */
  share?: boolean | SseShareOptions;
}

/**
 * What a shared client's channel carried that it did not act on (`SseClient.shareStats`).
 * Any script of the origin can post on the channel; a client checks every message and
 * counts what it ignores. A few `untrustedMessages` are normal around a hand-over (the old
 * leader's last messages); steady growth, or any `malformedMessages`, means something else
 * posts on the channel: another version of the client, a bug, or a script.
 */
export interface SseShareStats {
  /**
   * Messages that are not the share's: not an object, an unknown kind, a field missing or of
   * the wrong type, a topic, event type or id the wire rules refuse, an id more than a day
   * ahead of this browser's clock, a list over its limit.
   */
  readonly malformedMessages: number;
  /**
   * Well-formed messages not acted on: a leader's message (event, status, error, solo) from a
   * member other than the leader this client follows (one that has not proved it leads by
   * answering a ping), a message in this client's own name, a member past the share's limit.
   */
  readonly untrustedMessages: number;
  /** Why the last one was ignored (for debugging); `undefined` while none was. */
  readonly lastIgnored: string | undefined;
}

/**
 * A client's part in a shared stream: `leader` holds the EventSource, `follower`
 * receives the leader's events, `none` has a stream of its own.
 */
export type SseShareRole = 'leader' | 'follower' | 'none';

/**
 * How clients share one stream. Clients with the same absolute URL and `key`, in any
 * tab of the origin (and in one tab), elect a leader (Web Locks where present, else
 * leases over `BroadcastChannel`) that holds the only EventSource, subscribed to the
 * union of their `topics`, and relays every event, in order and with its id. Each
 * client still gets only its own topics, runs its own handlers, and has its own status
 * and `lastEventId`. The leader's `token`, `getToken` or `getTicket` (and backoff)
 * connect for all: token renewal happens once. When the leader goes (closed, crashed,
 * frozen), another client takes over and resumes after the newest id it saw or the stream
 * reached. Messages on the channel are checked (see `SseClient.shareStats`): any script of
 * the origin can post there.
 */
export interface SseShareOptions {
  /**
   * Only clients with the same key share. The leader connects with its own credentials,
   * so give the signed-in user's id (or session) when tabs of one browser may be signed
   * in as different users. `useSSE` uses its `key` option when this is not given.
   */
  key?: string;
  /** Where Web Locks are missing: a leader not heard from for this long is replaced. Default 3000 ms, at least 300. */
  leaseMs?: number;
  /** A `BroadcastChannel` implementation (tests, polyfills); `null`: none, so no sharing. */
  BroadcastChannel?: (new (name: string) => SseBroadcastChannelLike) | null;
  /** A Web Locks implementation (`navigator.locks`); `null`: use leases. */
  locks?: SseLockManagerLike | null;
}
