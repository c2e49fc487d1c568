/** Every default and fixed limit of the module, in one place. */

export const DEFAULT_SSE_PATH = '/api/events';
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 30_000;
export const DEFAULT_MAX_CONNECTIONS_PER_USER = 5;
export const DEFAULT_RETRY_MS = 3_000;
export const DEFAULT_JWT_ALGORITHMS = ['HS256'] as const;
export const DEFAULT_USER_ID_CLAIM = 'sub';
/** Characters of unsent output a client may owe before it is dropped (Nest's own default is 4M). */
export const DEFAULT_MAX_PENDING_DATA_LENGTH = 1024 * 1024;

/** The event types the module documents; any other name matching EVENT_TYPE_PATTERN is allowed too. */
export const SSE_EVENT_TYPES = {
  notification: 'notification',
  update: 'update',
  heartbeat: 'heartbeat',
  /** Sent just before the server closes a stream whose token has expired. */
  authExpired: 'auth-expired',
} as const;

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
