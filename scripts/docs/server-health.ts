/**
 * `@nest-sse/server/health`: a `@nestjs/terminus` health indicator (`SseHealthModule`, `SseHealthIndicator`). Needs `@nestjs/terminus` 11 or 12.
 * @module @nest-sse/server/health
 */
export * from '../../libs/sse/src/health/index.js';
