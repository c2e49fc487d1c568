/**
 * `@nest-sse/server`: `SseModule`, `SseService`, the route's guard, errors, options, history and the wire rules.
 * @module @nest-sse/server
 */
export * from '../../libs/sse/src/index.js';
