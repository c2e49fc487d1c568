/**
 * `@nest-sse/server/metrics`: Prometheus metrics of the module (`SseMetricsModule`, `SSE_METRICS_REGISTRY`). Needs `prom-client` 15.
 * @module @nest-sse/server/metrics
 */
export * from '../../libs/sse/src/metrics/index.js';
