/** Health checks with `@nestjs/terminus`: the module accepting streams, and its transport answering. */
export {
  DEFAULT_SSE_HEALTH_TIMEOUT_MS,
  type SseHealthCheckOptions,
  SseHealthIndicator,
} from './sse-health.indicator.js';
export { SseHealthModule } from './sse-health.module.js';
