/** Every default and fixed limit of the module, in one place. */

export const DEFAULT_SSE_PATH = '/api/events';
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_CONNECTIONS_PER_USER = 5;
export const DEFAULT_RETRY_MS = 3_000;
export const DEFAULT_JWT_ALGORITHMS = ['HS256'] as const;
export const DEFAULT_USER_ID_CLAIM = 'sub';
/** Bytes of unsent output a client may owe before it is dropped (Nest's @Sse() default is 4M characters). */
export const DEFAULT_MAX_PENDING_DATA_LENGTH = 1024 * 1024;
/** History kept for Last-Event-ID replay: per user (and for broadcasts), and by age. */
export const DEFAULT_HISTORY_MAX_EVENTS = 1000;
export const DEFAULT_HISTORY_TTL_MS = 5 * 60_000;
/** A Last-Event-ID longer than this is not looked at: it is answered with a `reset`. */
export const MAX_LAST_EVENT_ID_LENGTH = 64;

/** The event types the module documents; any other name matching EVENT_TYPE_PATTERN is allowed too. */
export const SSE_EVENT_TYPES = {
  notification: 'notification',
  update: 'update',
  heartbeat: 'heartbeat',
  /** Sent just before the server closes a stream whose token has expired. */
  authExpired: 'auth-expired',
  /** The stream cannot resume from the client's Last-Event-ID: reload state, then it continues live. */
  reset: 'reset',
} as const;

/** Why a `reset` was sent (its data is `{ reason, message }`). */
export const SSE_RESET_REASONS = {
  'malformed-id': 'The Last-Event-ID is not an id this server issues.',
  'unknown-id': 'The Last-Event-ID was not issued by this server run (restarted, or from elsewhere).',
  'too-old': 'Events after the Last-Event-ID are no longer in history.',
  'history-disabled': 'This server keeps no history to resume from.',
  'history-unavailable': 'The history store could not be read.',
} as const;
export type SseResetReason = keyof typeof SSE_RESET_REASONS;

/**
 * A safe event name: starts with a letter, then letters, digits and `._:-`.
 * Anything else (CR, LF, NUL, spaces, colons first) could split or merge SSE fields.
 */
export const EVENT_TYPE_PATTERN = /^[A-Za-z][A-Za-z0-9._:-]*$/;
export const MAX_EVENT_TYPE_LENGTH = 64;
/** Caller-supplied ids: printable ASCII without spaces; nothing that could break a field. */
export const EVENT_ID_PATTERN = /^[\x21-\x7E]+$/;
export const MAX_EVENT_ID_LENGTH = 128;
export const MAX_USER_ID_LENGTH = 256;

export const HEARTBEAT_COMMENT = 'heartbeat';
