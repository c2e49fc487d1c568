export { SseModule } from './sse.module.js';
export { SseService } from './sse.service.js';
export { SseAuthGuard } from './sse-auth.guard.js';
export { SseEventError, type SseEvent } from './sse-event.js';
export { SseConnectionLimitError } from './sse-connection.registry.js';
export type { SseUser } from './sse-user.js';
export type { SseHistoryRecord, SseHistoryStore, SseReplayResult } from './history/sse-history-store.interface.js';
export { MemoryHistoryStore, type MemoryHistoryOptions } from './history/memory-history.store.js';
export { compareEventIds, formatEventId, parseEventId, type SseEventId } from './sse-event-id.js';
export type {
  SseHistoryOptions,
  SseCorsOptions,
  SseJwtOptions,
  SseModuleExtras,
  SseModuleOptions,
} from './sse-options.interface.js';
export { SSE_OPTIONS_TYPE, SSE_ASYNC_OPTIONS_TYPE } from './sse.module-definition.js';
export {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_MAX_CONNECTIONS_PER_USER,
  DEFAULT_RETRY_MS,
  DEFAULT_SSE_PATH,
  DEFAULT_HISTORY_MAX_EVENTS,
  DEFAULT_HISTORY_TTL_MS,
  SSE_EVENT_TYPES,
  SSE_RESET_REASONS,
  type SseResetReason,
} from './sse.constants.js';
export * from './bridge/index.js';
