import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { SseHealthIndicator } from './sse-health.indicator.js';

/**
 * Provides `SseHealthIndicator` for the app's health controller. Import it
 * beside `TerminusModule` in the module of that controller; `SseModule` must be
 * in the app.
 *
 * @publicApi
 */
@Module({
  // HealthIndicatorService, which builds the indicator's results.
  imports: [TerminusModule],
  providers: [SseHealthIndicator],
  exports: [SseHealthIndicator],
})
export class SseHealthModule {}
