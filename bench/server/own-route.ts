import 'reflect-metadata';

import { SseAuthGuard, SseModule, SseRoute, SseService, SseStreamUser, type SseUser } from '@nest-sse/server';
import { Controller, Headers, type MessageEvent, Module, Sse, UseGuards } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { Observable } from 'rxjs';

import { listenNest } from './listen.js';
import { nestPublisher, type Publisher, type ServerOptions } from './publisher.js';

/**
 * An app's own stream route over `SseService.stream()`, with the module's route
 * turned off: `@SseRoute()` (written by the module's sink) or Nest's `@Sse()`.
 */
@Controller()
@UseGuards(SseAuthGuard)
class DecoratedRoute {
  constructor(private readonly sse: SseService) {}

  @SseRoute('api/events')
  events(@SseStreamUser() user: SseUser, @Headers('last-event-id') lastEventId?: string): Observable<MessageEvent> {
    return this.sse.stream(user.userId, { lastEventId, expiresAt: user.expiresAt });
  }
}

@Controller()
@UseGuards(SseAuthGuard)
class NestSseRoute {
  constructor(private readonly sse: SseService) {}

  @Sse('api/events')
  events(@SseStreamUser() user: SseUser, @Headers('last-event-id') lastEventId?: string): Observable<MessageEvent> {
    return this.sse.stream(user.userId, { lastEventId, expiresAt: user.expiresAt });
  }
}

async function start(
  controller: typeof DecoratedRoute | typeof NestSseRoute,
  { secret }: ServerOptions,
): Promise<Publisher> {
  @Module({
    imports: [
      SseModule.forRoot({
        jwt: { secret },
        // No heartbeat during the run, as for the other variants; the same limit as the library variant.
        heartbeatIntervalMs: 600_000,
        maxConnectionsPerUser: 10,
        route: false,
      }),
    ],
    controllers: [controller],
  })
  class OwnRouteApp {}
  const app = await NestFactory.create(OwnRouteApp, { logger: ['error', 'warn'] });
  await listenNest(app);
  return nestPublisher(app, app.get(SseService));
}

export const startSseRoute = (options: ServerOptions) => start(DecoratedRoute, options);
export const startNestSse = (options: ServerOptions) => start(NestSseRoute, options);
