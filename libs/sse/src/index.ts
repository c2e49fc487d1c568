/** The module, its publishing service and the route's guard. */
export { SseModule } from './sse.module.js';
export { SseService } from './sse.service.js';
export { SseAuthGuard } from './sse-auth.guard.js';
export type { SseEvent } from './sse-event.interface.js';
export type { SseUser } from './sse-user.js';

/** What publishing and connecting throw. */
export { SseConnectionLimitError, SseEventError } from './sse.exceptions.js';

/** Options of `SseModule.forRoot()` / `forRootAsync()`. */
export type {
  SseCorsOptions,
  SseHistoryOptions,
  SseJwtOptions,
  SseModuleExtras,
  SseModuleOptions,
} from './sse-options.interface.js';
export { SSE_ASYNC_OPTIONS_TYPE, SSE_OPTIONS_TYPE } from './sse.module-definition.js';
export {
  DEFAULT_HEARTBEAT_INTERVAL_MS,
  DEFAULT_HISTORY_MAX_EVENTS,
  DEFAULT_HISTORY_TTL_MS,
  DEFAULT_MAX_CONNECTIONS_PER_USER,
  DEFAULT_RETRY_MS,
  DEFAULT_SSE_PATH,
} from './sse.constants.js';

/** The wire rules: documented event types, reset reasons and limits. */
export { SSE_EVENT_TYPES, SSE_LIMITS, SSE_RESET_REASONS, type SseResetReason } from './sse-wire.rules.js';

/** History for Last-Event-ID replay: the store interface, its in-memory default, event ids. */
export type { SseHistoryRecord, SseHistoryStore, SseReplayResult } from './history/sse-history-store.interface.js';
export { MemoryHistoryStore, type MemoryHistoryOptions } from './history/memory-history.store.js';
export { compareEventIds, formatEventId, parseEventId, type SseEventId } from './sse-event-id.js';
export { SseFrame, type SseFrameFields } from './sse-frame.js';
