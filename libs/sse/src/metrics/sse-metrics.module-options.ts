import type { SSE_METRICS_ASYNC_OPTIONS_TYPE, SSE_METRICS_OPTIONS_TYPE } from './sse-metrics.module-definition.js';

/**
 * What `SseMetricsModule.forRoot()` takes: `SseMetricsOptions` and `isGlobal`.
 *
 * @publicApi
 */
export type SseMetricsModuleOptions = typeof SSE_METRICS_OPTIONS_TYPE;

/**
 * What `SseMetricsModule.forRootAsync()` takes: `imports`, `inject` and
 * `useFactory` (or `useClass` / `useExisting`) resolving `SseMetricsOptions`, and `isGlobal`.
 *
 * @publicApi
 */
export type SseMetricsModuleAsyncOptions = typeof SSE_METRICS_ASYNC_OPTIONS_TYPE;
