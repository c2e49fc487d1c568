import { SseModule } from '@nest-sse/server';
import { SseBridgeModule } from '@nest-sse/server/bridge';
import { RedisSseTransport } from '@nest-sse/server/redis';
import { type DynamicModule, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { EventEmitterModule } from '@nestjs/event-emitter';
import { JwtModule } from '@nestjs/jwt';

import { AdminModule } from './admin/admin.module.js';
import { AnnouncementsModule } from './announcements/announcements.module.js';
import { DEMO_JWT_ALGORITHM } from './auth/demo-auth.js';
import type { AppConfig } from './config.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { DevTokenModule } from './dev-token/dev-token.module.js';
import { MonitoringModule } from './monitoring/monitoring.module.js';
import { NotificationsModule } from './notifications/notifications.module.js';
import { OrdersModule } from './orders/orders.module.js';

@Module({})
export class AppModule implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  /**
   * Express announces itself on every response; the demo says nothing about its
   * stack. Turned off at the source: removing the header per response would turn
   * each held stream's header map into a slower, larger dictionary.
   */
  onModuleInit(): void {
    const instance = this.adapterHost.httpAdapter?.getInstance<{ disable?: (setting: string) => void }>();
    instance?.disable?.('x-powered-by');
  }

  static forRoot(config: AppConfig): DynamicModule {
    const orders = OrdersModule.register({ shipDelayMs: config.shipDelayMs, maxPerUser: config.maxOrdersPerUser });
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
          // Redis makes instances behind a load balancer one app; unset, the module keeps everything in this process.
          transport: config.sseTransport === 'redis' ? new RedisSseTransport({ redis: config.redisUrl! }) : undefined,
        }),
        SseBridgeModule.forRoot(),
        orders,
        NotificationsModule.register({ orders }),
        AnnouncementsModule,
        AdminModule,
        MonitoringModule,
        ...(config.devTokens ? [DevTokenModule] : []),
      ],
      controllers: [DashboardController],
    };
  }
}
