import { Controller, Get, Header } from '@nestjs/common';
import { SseService } from '@nest-sse/server';

/** `GET /health`: 200 with a JSON body while the app serves (for a load balancer or an orchestrator's probe). */
@Controller('health')
export class HealthController {
  constructor(private readonly sse: SseService) {}

  @Get()
  @Header('Cache-Control', 'no-store')
  check(): { status: 'ok'; sse: { status: 'up'; openStreams: number } } {
    return { status: 'ok', sse: { status: 'up', openStreams: this.sse.stats().openStreams } };
  }
}
