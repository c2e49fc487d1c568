/** Health checks with `@nestjs/terminus`: the module accepting streams, and its transport answering. */
export { SseHealthModule } from './sse-health.module.js';
export {
  DEFAULT_SSE_HEALTH_TIMEOUT_MS,
  SseHealthIndicator,
  type SseHealthCheckOptions,
} from './sse-health.indicator.js';
