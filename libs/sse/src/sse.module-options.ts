import type { SSE_ASYNC_OPTIONS_TYPE, SSE_OPTIONS_TYPE } from './sse.module-definition.js';

/**
 * What `SseModule.forRoot()` takes: `SseModuleOptions` and the route-shaping
 * `SseModuleExtras` side by side.
 *
 * @publicApi
 */
export type SseModuleForRootOptions = typeof SSE_OPTIONS_TYPE;

/**
 * What `SseModule.forRootAsync()` takes: `imports`, `inject` and `useFactory`
 * (or `useClass` / `useExisting`) resolving `SseModuleOptions`, with the
 * `SseModuleExtras` beside them.
 *
 * @publicApi
 */
export type SseModuleAsyncOptions = typeof SSE_ASYNC_OPTIONS_TYPE;
