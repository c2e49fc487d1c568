/**
 * The wire rules: which names, ids, user ids and topics may reach an event stream, and
 * the documented event types and reset reasons. The one place the server's guard,
 * `SseService` and bridge, and the browser client, read them from.
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

/** What `isUserId` accepts, in words: for an error message. */
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
