import { SseHealthIndicator } from '@nest-sse/server/health';
import { Controller, Get } from '@nestjs/common';
import { HealthCheck, type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';

/**
 * `GET /health`, for a load balancer's or an orchestrator's probe: 200 with
 * terminus's JSON while the app serves streams, 503 once shutdown began or while
 * the transport (Redis) does not answer, so traffic moves elsewhere.
 */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly sse: SseHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.sse.isHealthy('sse')]);
  }
}
