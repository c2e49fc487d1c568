/**
 * The wire rules: which names, ids, user ids and topics may reach an event stream, and
 * the documented event types and reset reasons. The one place the guard,
 * `SseService`, the bridge and the browser client's type names read them from;
 * it imports nothing, so the client can use it too.
 */

/**
 * Every length limit of what reaches the wire or identifies a stream.
 *
 * @publicApi
 */
export const SSE_LIMITS = {
  /** An `event:` name. */
  eventTypeLength: 64,
  /** A caller-supplied `id:` (only with `history: false`). */
  eventIdLength: 128,
  /** A user id, from a token claim, a push target or an `SseService` call. */
  userIdLength: 256,
  /** A `Last-Event-ID` longer than this is not looked at: it is answered with a `reset`. */
  lastEventIdLength: 64,
  /** A token longer than this is refused before it reaches the verifier. */
  tokenLength: 8192,
  /** A topic name (`orders/123`), or an `@SseTopic()` pattern. */
  topicLength: 200,
  /** Topics one stream may subscribe to. */
  topicsPerStream: 20,
} as const;

/**
 * The event types the module documents; any other name `eventTypeProblem` accepts is allowed too.
 *
 * @publicApi
 */
export const SSE_EVENT_TYPES = {
  notification: 'notification',
  update: 'update',
  heartbeat: 'heartbeat',
  /** Sent just before the server closes a stream whose token has expired. */
  authExpired: 'auth-expired',
  /** The stream cannot resume from the client's Last-Event-ID: reload state, then it continues live. */
  reset: 'reset',
  /**
   * The opening of a shared stream (`?shared=1`), data `null`: its id is where the
   * stream starts (the resumed id, or the present), which a client can then read.
   */
  connected: 'connected',
} as const;

/**
 * Why a `reset` was sent (its data is `{ reason, message }`).
 *
 * @publicApi
 */
export const SSE_RESET_REASONS = {
  'malformed-id': 'The Last-Event-ID is not an id this server issues.',
  'unknown-id': 'The Last-Event-ID was not issued by this server run (restarted, or from elsewhere).',
  'too-old': 'Events after the Last-Event-ID are no longer in history.',
  'history-disabled': 'This server keeps no history to resume from.',
  'history-unavailable': 'The history store could not be read.',
  /**
   * Sent to open streams too, not only to resuming ones: the cluster's store (Redis) came back
   * without events it had (restarted from an older snapshot, or empty), so some may never arrive.
   * The reset's id is where the store is whole again: a client resuming from it misses nothing after it.
   */
  'history-lost': 'Events may have been lost: the event store came back from older data (or empty).',
} as const;
/**
 * Why a `reset` was sent: a key of `SSE_RESET_REASONS`.
 *
 * @publicApi
 */
export type SseResetReason = keyof typeof SSE_RESET_REASONS;

/**
 * Why a request was refused with a 401 (a stream, its `HEAD`, or a ticket request): the
 * `reason` of the JSON body, and the value of the `SSE_AUTH_REASON_HEADER` header, which a
 * `HEAD` (no body) carries too. A category only: never the credential, nor what the server
 * expected (its issuer, audience or key). `@nest-sse/client` stops retrying after a few
 * consecutive ones (`maxAuthFailures`) and reports the category (`SseClientError.reason`).
 *
 * @publicApi
 */
export const SSE_AUTH_FAILURE_REASONS = {
  missing: 'No credential: no token (nor ticket) in the request.',
  malformed: 'The token is not a well-formed JWT (or is longer than SSE_LIMITS.tokenLength).',
  invalid:
    'The token is not acceptable: its signature, algorithm, issuer, audience, subject, id, user id claim, missing exp or too long a lifetime.',
  expired: 'The token expired.',
  'not-yet-valid': 'The token is not valid yet (its nbf is in the future).',
  revoked: 'The app revoked the token (jwt.isRevoked).',
  ticket: 'The ticket is unknown, expired, already used, or was dropped for a newer one: ask for a new one.',
} as const;
/**
 * Why a request was refused with a 401: a key of `SSE_AUTH_FAILURE_REASONS`.
 *
 * @publicApi
 */
export type SseAuthFailureReason = keyof typeof SSE_AUTH_FAILURE_REASONS;

/**
 * The response header of a 401 that names its `SseAuthFailureReason` (as the body's
 * `reason` does), for a `HEAD`, which has no body; CORS exposes it to the configured origins.
 *
 * @publicApi
 */
export const SSE_AUTH_REASON_HEADER = 'SSE-Auth-Reason';

/**
 * A letter, then letters, digits and `._:-`. Anything else (CR, LF, NUL,
 * spaces, a leading colon) could split or merge SSE fields.
 */
const EVENT_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9._:-]*$/;
/** Printable ASCII without spaces: nothing that could break a field. */
const EVENT_ID_PATTERN = /^[\x21-\x7E]+$/;

/**
 * Why `type` cannot be an event name, or `undefined` when it can. Refused
 * rather than stripped: Nest removes CR/LF from `event:`, which would silently
 * merge what the caller meant as separate fields.
 */
export function eventTypeProblem(type: unknown): string | undefined {
  if (typeof type !== 'string' || type.length === 0) return 'SSE event type must be a non-empty string';
  if (type.length > SSE_LIMITS.eventTypeLength) {
    return `SSE event type is longer than ${SSE_LIMITS.eventTypeLength} characters`;
  }
  if (!EVENT_TYPE_PATTERN.test(type)) {
    return `SSE event type ${JSON.stringify(type)} is not allowed: use a letter followed by letters, digits or ._:-`;
  }
  return undefined;
}

/** Why `id` cannot be a caller-supplied event id, or `undefined` when it can. */
export function eventIdProblem(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0) return 'SSE event id must be a non-empty string';
  if (id.length > SSE_LIMITS.eventIdLength) return `SSE event id is longer than ${SSE_LIMITS.eventIdLength} characters`;
  if (!EVENT_ID_PATTERN.test(id)) {
    return `SSE event id ${JSON.stringify(id)} is not allowed: use printable ASCII without spaces, CR, LF or NUL`;
  }
  return undefined;
}

export const USER_ID_RULE = `user id must be a non-empty string of at most ${SSE_LIMITS.userIdLength} characters`;

/** A user id as `SseService` takes it. */
export function isUserId(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= SSE_LIMITS.userIdLength;
}

/**
 * A user id from outside typed code (a token's claim, a push target): a valid
 * user id, or a finite number as its decimal string; `undefined` for anything else.
 */
export function toUserId(value: unknown): string | undefined {
  const id = typeof value === 'number' && Number.isFinite(value) ? String(value) : value;
  return isUserId(id) ? id : undefined;
}

/**
 * Segments of letters, digits and `._~:@-`, joined by single `/`: no empty
 * segment, no leading or trailing slash, nothing that needs escaping in a URL
 * query, and no `*` or `#` (room for wildcards later).
 */
const TOPIC_PATTERN = /^[A-Za-z0-9._~:@-]+(?:\/[A-Za-z0-9._~:@-]+)*$/;

/**
 * Why `topic` cannot be a topic name, or `undefined` when it can: what a stream
 * subscribes to and `SseService.publish` sends to.
 */
export function topicProblem(topic: unknown): string | undefined {
  if (typeof topic !== 'string' || topic.length === 0) return 'SSE topic must be a non-empty string';
  if (topic.length > SSE_LIMITS.topicLength) return `SSE topic is longer than ${SSE_LIMITS.topicLength} characters`;
  if (!TOPIC_PATTERN.test(topic)) {
    return `SSE topic ${JSON.stringify(topic.slice(0, 80))} is not allowed: use segments of letters, digits or ._~:@- joined by /`;
  }
  return undefined;
}

/**
 * The topics of one stream, checked and without duplicates (first occurrence
 * kept); a string naming why, when one is bad or there are more than
 * `SSE_LIMITS.topicsPerStream`.
 */
export function checkTopics(topics: readonly unknown[]): string[] | string {
  const unique = [...new Set(topics)];
  if (unique.length > SSE_LIMITS.topicsPerStream) {
    return `at most ${SSE_LIMITS.topicsPerStream} topics per stream, got ${unique.length}`;
  }
  for (const topic of unique) {
    const problem = topicProblem(topic);
    if (problem) return problem;
  }
  return unique as string[];
}

/**
 * The stream query parameter of a stream one client holds for several subscribers
 * (`?shared=1`, as `@nest-sse/client`'s tabs share one stream). On such a stream:
 * - an event published to a topic carries its topic as the first line of its data
 *   (`orders/1\n{"orderId":"1"}`), so the client can tell its subscribers' topics
 *   apart (see `untagTopicData`); events to users and broadcasts are never tagged;
 * - the opening is a `connected` event (data `null`) whose id is where the stream
 *   starts, so a client that takes the stream over knows where to resume even when
 *   no event arrived yet.
 * Absent: off, and the stream is written as for any other client.
 *
 * @publicApi
 */
export const SSE_SHARED_PARAM = 'shared';

/**
 * The `shared` query parameter as the route reads it: `false` when absent,
 * `true` for `1`, and a string saying why for anything else (another value, or
 * the parameter repeated), which the route answers with a 400.
 */
export function readShared(value: unknown): boolean | string {
  if (value === undefined) return false;
  if (value === '1') return true;
  return Array.isArray(value)
    ? `${SSE_SHARED_PARAM} must be given at most once`
    : `${SSE_SHARED_PARAM} must be 1 (or left out), got ${JSON.stringify(String(value).slice(0, 40))}`;
}

/**
 * Whether a stream request asks for a shared stream, the one rule of the module's
 * route and of `SseService.stream()` / `openStream()`: its `shared` query parameter
 * by `readShared` (`false` when absent, `true` for `1`, a string saying why for a
 * bad value, answered with a 400). Takes Express's or Fastify's request (its parsed
 * `query`) or Node's own (its `url`), as `readLastEventId` does.
 */
export function readSharedParam(request: object): boolean | string {
  return readShared(queryParam(request, SSE_SHARED_PARAM));
}

/** Where a fresh EventSource resumes from, in the stream's URL (`@nest-sse/client` after a recovery, a page after a reload). */
export const SSE_LAST_EVENT_ID_PARAM = 'lastEventId';

/**
 * Not an id this server issues: what a request gets for a `lastEventId` it
 * gave more than once, so that it is answered as any malformed id (a `reset`).
 */
const NOT_AN_EVENT_ID = '\u0000';

/**
 * Where a stream request resumes from, the one rule of the module's route and
 * of `SseService.stream()` / `openStream()`: its `Last-Event-ID` header when not
 * empty, else its `lastEventId` query parameter, else `undefined` (from now).
 * The header wins: an EventSource that reconnects by itself sends its newest
 * id there, while its URL keeps the `lastEventId` it was opened with; the
 * parameter is for a fresh EventSource, which cannot set headers. A parameter
 * given more than once (or as anything but one string) is an id no server
 * issues, so it is answered with a `reset` like any malformed one and never
 * written back. Takes Express's or Fastify's request (its parsed `query`) or
 * Node's own (its `url`).
 */
export function readLastEventId(request: object): string | undefined {
  const header = (request as { headers?: Record<string, unknown> }).headers?.['last-event-id'];
  if (typeof header === 'string' && header.length > 0) return header;
  const value = queryParam(request, SSE_LAST_EVENT_ID_PARAM);
  if (value === undefined) return undefined;
  // A repeated parameter arrives as an array (qs may make an object of it): not an id.
  return typeof value === 'string' ? value : NOT_AN_EVENT_ID;
}

/**
 * One query parameter of a request: from Express's or Fastify's parsed `query`, else
 * from Node's own `url` (an array when repeated there); `undefined` when absent.
 */
function queryParam(request: object, name: string): unknown {
  const { query, url } = request as { query?: unknown; url?: unknown };
  if (query !== null && typeof query === 'object') return (query as Record<string, unknown>)[name];
  if (typeof url !== 'string' || !url.includes('?')) return undefined;
  const values = new URLSearchParams(url.slice(url.indexOf('?') + 1)).getAll(name);
  return values.length > 1 ? values : values[0];
}

/**
 * A topic event's data as a shared stream carries it: the topic, a line feed,
 * then the data. A topic never holds a line break (`topicProblem`), and the
 * data of a published event is JSON on one line, so the first `\n` splits them.
 */
export function tagTopicData(topic: string, data: string): string {
  return `${topic}\n${data}`;
}

/**
 * Splits the `data` of an event from a shared stream (`?shared=1`) into its
 * topic and its own data, at the first line feed. Data without one (an event to
 * the user, a broadcast, the server's own events) has no topic and is returned as is.
 *
 * @publicApi
 */
export function untagTopicData(data: string): { topic: string | undefined; data: string } {
  const at = data.indexOf('\n');
  return at === -1 ? { topic: undefined, data } : { topic: data.slice(0, at), data: data.slice(at + 1) };
}
