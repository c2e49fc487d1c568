export { SseBridgeModule } from './sse-bridge.module.js';
export { SSE_BRIDGE_OPTIONS_TYPE, SSE_BRIDGE_ASYNC_OPTIONS_TYPE } from './sse-bridge.module-definition.js';
export type { SseBridgeOptions } from './sse-bridge-options.interface.js';
export { SsePush, type SsePushEvent, type SsePushOptions } from './sse-push.decorator.js';
export type {
  SsePushResult,
  SsePushTarget,
  SsePushToAll,
  SsePushToUser,
  SsePushToUsers,
  SseUserId,
} from './sse-push-target.interface.js';
export { SseEventMapping, type SseAudience, type SseEventMappingOptions } from './sse-event-mapping.decorator.js';
