import { SseHealthModule } from '@nest-sse/server/health';
import { SseMetricsModule } from '@nest-sse/server/metrics';
import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';

import { HealthController } from './health.controller.js';
import { MetricsController } from './metrics.controller.js';

/**
 * What operators probe and scrape: `GET /health` and `GET /metrics`. The metrics
 * are in a registry of their own (prom-client's global one stays untouched), with
 * the `sse_` names the demo's contract lists.
 */
@Module({
  imports: [TerminusModule, SseHealthModule, SseMetricsModule.forRoot({ isGlobal: false })],
  controllers: [HealthController, MetricsController],
})
export class MonitoringModule {}
