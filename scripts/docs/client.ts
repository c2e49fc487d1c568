/**
 * `@nest-sse/client`: the framework-free browser client (`createSseClient`, `SseClient`), no dependency.
 * @module @nest-sse/client
 */
export * from '../../libs/sse-client/src/index.js';
