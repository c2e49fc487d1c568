export { SseBridgeModule } from './sse-bridge.module.js';
export type { SseBridgeOptions } from './sse-bridge.options.js';
export {
  SsePush,
  type SsePushOptions,
  type SsePushResult,
  type SsePushTarget,
  type SsePushToAll,
  type SsePushToUser,
  type SsePushToUsers,
  type SseUserId,
} from './sse-push.decorator.js';
export { SseEventMapping, type SseAudience, type SseEventMappingOptions } from './sse-event-mapping.decorator.js';
