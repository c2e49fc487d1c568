/** Prometheus metrics of the SSE module (needs `prom-client`): the module, its options and the registry's token. */
export { DEFAULT_SSE_METRICS_PREFIX, SSE_METRICS_REGISTRY } from './sse-metrics.constants.js';
export { SseMetricsModule } from './sse-metrics.module.js';
export type { SseMetricsModuleAsyncOptions, SseMetricsModuleOptions } from './sse-metrics.module-options.js';
export type { SseMetricsModuleExtras, SseMetricsOptions } from './sse-metrics-options.interface.js';
