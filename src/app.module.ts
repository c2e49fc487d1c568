import { type DynamicModule, type MiddlewareConsumer, Module, type NestModule } from '@nestjs/common';
import type { ServerResponse } from 'node:http';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { JwtModule } from '@nestjs/jwt';
import { SseModule } from '@nest-sse/server';
import { SseBridgeModule } from '@nest-sse/server/bridge';
import { AnnouncementsModule } from './announcements/announcements.module.js';
import { DEMO_JWT_ALGORITHM } from './auth/demo-auth.js';
import type { AppConfig } from './config.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { DevTokenModule } from './dev-token/dev-token.module.js';
import { NotificationsModule } from './notifications/notifications.module.js';
import { OrdersModule } from './orders/orders.module.js';

/** Express announces itself on every response; the demo says nothing about its stack. */
function hidePoweredBy(_req: unknown, res: ServerResponse, next: () => void): void {
  res.removeHeader('X-Powered-By');
  next();
}

@Module({})
export class AppModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(hidePoweredBy).forRoutes('{*path}');
  }

  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        JwtModule.register({ global: true, secret: config.jwtSecret }),
        // Domain services emit events; the bridge turns the mapped ones into pushes.
        EventEmitterModule.forRoot(),
        SseModule.forRoot({
          jwt: { secret: config.jwtSecret, algorithms: [DEMO_JWT_ALGORITHM] },
          heartbeatIntervalMs: config.heartbeatMs,
          maxConnectionsPerUser: config.maxConnectionsPerUser,
          cors: { origins: config.corsOrigins },
        }),
        SseBridgeModule.forRoot(),
        OrdersModule.register({ shipDelayMs: config.shipDelayMs }),
        NotificationsModule,
        AnnouncementsModule,
        ...(config.devTokens ? [DevTokenModule] : []),
      ],
      controllers: [DashboardController],
    };
  }
}
