import { SSE_METRICS_REGISTRY } from '@nest-sse/server/metrics';
import { Controller, Get, Header, Inject } from '@nestjs/common';
import { Registry } from 'prom-client';

/**
 * `GET /metrics`: the SSE module's metrics in the Prometheus text format, for a
 * scraper. Read when asked: the figures cost nothing between scrapes.
 */
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(SSE_METRICS_REGISTRY) private readonly registry: Registry) {}

  @Get()
  @Header('Content-Type', Registry.PROMETHEUS_CONTENT_TYPE)
  @Header('Cache-Control', 'no-store')
  metrics(): Promise<string> {
    return this.registry.metrics();
  }
}
