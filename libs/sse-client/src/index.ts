/** Framework-free entry point: no React (or any other) dependency. */
export {
  backoffDelay,
  DEFAULT_BACKOFF,
  MIN_RECOVERY_DELAY_MS,
  resolveBackoff,
  type SseBackoff,
  type SseBackoffOptions,
} from './backoff.js';
export type {
  SseBroadcastChannelConstructor,
  SseBroadcastChannelLike,
  SseLockManagerLike,
} from './share/tab-share.protocol.js';
export { SseClientError, type SseClientErrorDetails, type SseErrorCode } from './sse-client.errors.js';
export { createSseClient, DEFAULT_MAX_AUTH_FAILURES, HEALTHY_AFTER_MS, SseClient } from './sse-client.js';
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
  SseServerEvents,
  SseShareOptions,
  SseShareRole,
  SseShareStats,
  SseStatus,
  SseStatusReason,
  SseTicketRequest,
} from './sse-client.types.js';
export { fetchSseTicket, type FetchSseTicketOptions, type SseTicketFetch } from './stream-ticket.js';
export { buildStreamUrl, withQueryParams } from './stream-url.js';
