/** Framework-free entry point: no React (or any other) dependency. */
export { SseClient, createSseClient, DEFAULT_MAX_AUTH_FAILURES, HEALTHY_AFTER_MS } from './sse-client.js';
export { SseClientError, type SseClientErrorDetails, type SseErrorCode } from './sse-client.errors.js';
export {
  DEFAULT_BACKOFF,
  MIN_RECOVERY_DELAY_MS,
  backoffDelay,
  resolveBackoff,
  type SseBackoff,
  type SseBackoffOptions,
} from './backoff.js';
export { buildStreamUrl, withQueryParams } from './stream-url.js';
export { fetchSseTicket, type FetchSseTicketOptions, type SseTicketFetch } from './stream-ticket.js';
export type {
  SseAuthExpiredData,
  SseClientOptions,
  SseEventData,
  SseEventMap,
  SseEventSourceConstructor,
  SseEventSourceLike,
  SseGetTicket,
  SseGetToken,
  SseHandler,
  SseHandlers,
  SseResetData,
  SseShareOptions,
  SseShareRole,
  SseShareStats,
  SseServerEvents,
  SseStatus,
  SseStatusReason,
  SseTicketRequest,
} from './sse-client.types.js';
export type {
  SseBroadcastChannelLike,
  SseBroadcastChannelConstructor,
  SseLockManagerLike,
} from './share/tab-share.protocol.js';
