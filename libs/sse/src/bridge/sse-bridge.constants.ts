/** Metadata and tokens of the event-emitter bridge. */

/** On a method wrapped by `@SsePush()`: its `SsePushMetadata`. */
export const SSE_PUSH_METADATA = 'nest-sse:push';
/** On a class decorated with `@SseEventMapping()`: its `SseEventMappingMetadata`. */
export const SSE_EVENT_MAPPING_METADATA = 'nest-sse:event-mapping';
/**
 * Where a discovered listener instance keeps its app's bridge. Set at bootstrap,
 * removed at shutdown: a `@SsePush()` method of an instance without it is a plain method.
 */
export const SSE_PUSH_SINK = Symbol('nest-sse:push-sink');
/** Injection token of the resolved `SseBridgeOptions`. */
export const SSE_BRIDGE_OPTIONS = Symbol('SSE_BRIDGE_OPTIONS');

/** How long an async `@SsePush()` handler may hold back the pushes queued after it. */
export const DEFAULT_BRIDGE_HANDLER_TIMEOUT_MS = 10_000;
/** Pushes waiting behind unsettled handlers before new ones are dropped (and logged). */
export const DEFAULT_BRIDGE_MAX_PENDING = 10_000;
