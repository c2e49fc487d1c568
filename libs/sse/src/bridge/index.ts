/** The event-emitter bridge: the module, its options, and the decorators (typed by an optional event map). */
export { SseBridgeModule } from './sse-bridge.module.js';
export type { SseBridgeModuleAsyncOptions } from './sse-bridge.module-options.js';
export type { SseBridgeOptions } from './sse-bridge-options.interface.js';
export {
  type SseAudience,
  SseEventMapping,
  type SseEventMappingDecorator,
  type SseEventMappingOptions,
  type SseTopicAudience,
} from './sse-event-mapping.decorator.js';
export {
  SSE_LIFECYCLE_EVENTS,
  type SseConnectedEvent,
  type SseDisconnectedEvent,
  type SseUserPresenceEvent,
} from './sse-lifecycle.events.js';
export {
  SsePush,
  type SsePushDecorator,
  type SsePushEvent,
  type SsePushHandler,
  type SsePushMethodDecorator,
  type SsePushOptions,
} from './sse-push.decorator.js';
export type {
  SsePushResult,
  SsePushTarget,
  SsePushToAll,
  SsePushToTopic,
  SsePushToUser,
  SsePushToUsers,
  SseUserId,
} from './sse-push-target.interface.js';
