import { Module } from '@nestjs/common';
import { HealthController } from './health.controller.js';

/** What operators scrape and probe: `GET /health` (and `GET /metrics`). */
@Module({ controllers: [HealthController] })
export class MonitoringModule {}
