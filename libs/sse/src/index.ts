export { SseModule } from './sse.module.js';
export { SseService } from './sse.service.js';
export { SseAuthGuard } from './sse-auth.guard.js';
export { SseEventError, type SseEvent } from './sse-event.js';
export { SseConnectionLimitError } from './sse-connection.registry.js';
export type { SseUser } from './sse-user.js';
export type {
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
  SSE_EVENT_TYPES,
} from './sse.constants.js';
