/** Metadata keys, tokens and defaults of the event-emitter bridge. */

/** On a method: the `SsePushMetadata[]` its `@SsePush()` decorators recorded, one per event. */
export const SSE_PUSH_METADATA = 'nest-sse:push';
/** On a class: the `SseEventMappingMetadata` its `@SseEventMapping()` recorded. */
export const SSE_EVENT_MAPPING_METADATA = 'nest-sse:event-mapping';
/** Injection token of the resolved `SseBridgeOptions`. */
export const SSE_BRIDGE_OPTIONS = Symbol('SSE_BRIDGE_OPTIONS');

/** How long an async `@SsePush()` handler may hold back the pushes queued after it. */
export const DEFAULT_BRIDGE_HANDLER_TIMEOUT_MS = 10_000;
/** Pushes waiting behind unsettled handlers before new ones are dropped (and logged). */
export const DEFAULT_BRIDGE_MAX_PENDING = 10_000;
