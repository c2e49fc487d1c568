/** The module and its publishing service, typed by an optional event map. */
export { SseModule } from './sse.module.js';
export { SseService, type SseStreamOptions } from './sse.service.js';
export type { SseEvent, SseEventMap, SseEventType } from './wire/sse-event.interface.js';

/** Authenticating streams, on the module's route or your own: the guard, its hooks' types, the user. */
export { SseAuthGuard, type SseAuthRequest } from './auth/sse-auth.guard.js';

/** Stream tickets: issuing them from your own route, and the store interface with its in-memory default. */
export { SseStreamUser } from './auth/sse-stream-user.decorator.js';
export { type SseTokenClaims, SseTokenVerifier } from './auth/sse-token.verifier.js';
export { SSE_USER_KEY, type SseUser } from './auth/sse-user.js';
export { SseRoute, type SseRouteOptions } from './http/sse-route.decorator.js';
export { MemoryTicketStore } from './tickets/memory-ticket.store.js';
export { newTicket } from './tickets/sse-ticket.format.js';
export { SseTicketService } from './tickets/sse-ticket.service.js';
export type {
  SseIssuedTicket,
  SseTicketGrant,
  SseTicketStore,
  SseTicketStoreOptions,
} from './tickets/sse-ticket-store.interface.js';

/** What happened, for code that reacts and for metrics: `SseService.stats()`'s types and the lifecycle hub. */
export { SseLifecycleHub, type SseLifecycleListener, type SseStreamInfo } from './observe/sse-lifecycle.hub.js';
export type {
  SseDisconnectReason,
  SsePublishToWriteStats,
  SseRefusalReason,
  SseStats,
  SseTargetKind,
} from './observe/sse-stats.collector.js';

/** Topics: declaring who may subscribe (`@SseTopic()` on a provider), and checking it on your own route. */
export { SseTopicAuthorizer } from './topics/sse-topic.authorizer.js';
export { SseTopic, type SseTopicPolicy } from './topics/sse-topic.decorator.js';

/** What publishing and connecting throw. */
export { SseShuttingDownError } from './sse.exceptions.js';
export { SseConnectionLimitError, SseEventError, SseTicketLimitError } from './sse.exceptions.js';
export {
  SsePresenceUnavailableError,
  SseTopicForbiddenError,
  SseTopicInvalidError,
  SseTransportError,
} from './sse.exceptions.js';
export { SseUnauthorizedError } from './sse.exceptions.js';
export { SseTicketsUnavailableError } from './sse.exceptions.js';

/** Options of `SseModule.forRoot()` / `forRootAsync()`. */
export {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HISTORY_MAX_EVENTS,
  DEFAULT_HISTORY_MAX_TOPICS,
  DEFAULT_HISTORY_MAX_USERS,
  DEFAULT_HISTORY_TTL_MS,
  DEFAULT_MAX_CONNECTIONS,
  DEFAULT_MAX_CONNECTIONS_PER_USER,
  DEFAULT_RETRY_JITTER_MS,
  DEFAULT_RETRY_MS,
  DEFAULT_SHUTDOWN_TIMEOUT_MS,
  DEFAULT_SSE_PATH,
  DEFAULT_TICKET_MAX_OUTSTANDING,
  DEFAULT_TICKET_MAX_PER_USER,
  DEFAULT_TICKET_TTL_MS,
} from './options/sse.defaults.js';
export type {
  SseCorsOptions,
  SseHistoryOptions,
  SseJwtAlgorithm,
  SseJwtOptions,
  SseModuleExtras,
  SseModuleOptions,
  SseTicketOptions,
} from './options/sse-options.interface.js';
export type { SseModuleAsyncOptions, SseModuleForRootOptions } from './sse.module-options.js';

/** The wire contract (`@nest-sse/protocol`): documented event types, reset reasons, 401 categories and limits. */
export {
  SSE_AUTH_FAILURE_REASONS,
  SSE_AUTH_REASON_HEADER,
  SSE_EVENT_TYPES,
  SSE_LIMITS,
  SSE_RESET_REASONS,
  SSE_SHARED_PARAM,
  type SseAuthFailureReason,
  type SseResetReason,
  untagTopicData,
} from '@nest-sse/protocol';

/** How events reach streams: the transport interface (a cluster's is in `@nest-sse/server/redis`) and its in-process default. */
export { MemorySseTransport } from './transport/memory.transport.js';
export type {
  SseAudience,
  SseDeliveryTarget,
  SseOutgoingEvent,
  SsePresence,
  SsePresenceListener,
  SsePresenceSlot,
  SseTransport,
} from './transport/sse-transport.interface.js';

/** History for Last-Event-ID replay: the store interface, its in-memory default, event ids. */
export { type MemoryHistoryOptions, MemoryHistoryStore } from './history/memory-history.store.js';
export type { SseHistoryRecord, SseHistoryStore, SseReplayResult } from './history/sse-history-store.interface.js';
export { SseFrame, type SseFrameFields } from './wire/sse-frame.js';
export { compareEventIds, formatEventId, parseEventId, type SseEventId } from '@nest-sse/protocol';
