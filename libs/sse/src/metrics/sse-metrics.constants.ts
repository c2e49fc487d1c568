/** Tokens and defaults of `@nest-sse/server/metrics`. */

/**
 * Injection token of the prom-client `Registry` the metrics are in: the one
 * given in the options, or the module's own. A `/metrics` route answers
 * `registry.metrics()` with `registry.contentType`.
 *
 * @publicApi
 */
export const SSE_METRICS_REGISTRY = Symbol('SSE_METRICS_REGISTRY');

/** @publicApi */
export const DEFAULT_SSE_METRICS_PREFIX = 'sse_';
