import { type DynamicModule, Module } from '@nestjs/common';
import { JwtModule } from '@nestjs/jwt';
import { SseModule } from '../libs/sse/src/index.js';
import { AnnouncementsModule } from './announcements/announcements.module.js';
import { DEMO_JWT_ALGORITHM } from './auth/demo-auth.js';
import type { AppConfig } from './config.js';
import { DashboardController } from './dashboard/dashboard.controller.js';
import { DevTokenModule } from './dev-token/dev-token.module.js';
import { OrdersModule } from './orders/orders.module.js';

@Module({})
export class AppModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        JwtModule.register({ global: true, secret: config.jwtSecret }),
        SseModule.forRoot({
          jwt: { secret: config.jwtSecret, algorithms: [DEMO_JWT_ALGORITHM] },
          heartbeatIntervalMs: config.heartbeatMs,
          maxConnectionsPerUser: config.maxConnectionsPerUser,
          cors: { origins: config.corsOrigins },
        }),
        OrdersModule,
        AnnouncementsModule,
        ...(config.production ? [] : [DevTokenModule]),
      ],
      controllers: [DashboardController],
    };
  }
}
