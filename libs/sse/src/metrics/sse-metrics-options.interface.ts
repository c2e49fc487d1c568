import type { Registry } from 'prom-client';

/**
 * Options of `SseMetricsModule.forRoot()`.
 *
 * @publicApi
 */
export interface SseMetricsOptions {
  /**
   * Where the metrics are registered: the app's registry (prom-client's global
   * `register` only if you pass it). Without it the module makes a registry of
   * its own, injectable as `SSE_METRICS_REGISTRY`.
   */
  registry?: Registry;
  /** Prefix of every metric name (default `sse_`). */
  prefix?: string;
}

/**
 * `SseMetricsModule`'s extras, beside the options in `forRoot()` and `forRootAsync()`.
 *
 * @publicApi
 */
export interface SseMetricsModuleExtras {
  /** Whether `SSE_METRICS_REGISTRY` is injectable everywhere (default true, like `SseModule`). */
  isGlobal?: boolean;
}
