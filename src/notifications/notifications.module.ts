import { type DynamicModule, Module } from '@nestjs/common';

import { OrderNotificationsListener } from './order-notifications.listener.js';
import { OrderTopicPolicy } from './order-topic.policy.js';

/**
 * The mapping from domain events to what users see, and who may watch what.
 * `SseBridgeModule` (imported by the app) discovers the `@SsePush()` handlers
 * here at bootstrap, and `SseModule` the `@SseTopic()` policy.
 */
@Module({})
export class NotificationsModule {
  /**
   * `orders`: the app's registered orders module (the same object the app
   * imports, so one `OrdersService`), for the order topic's policy.
   */
  static register({ orders }: { orders: DynamicModule }): DynamicModule {
    return {
      module: NotificationsModule,
      imports: [orders],
      providers: [OrderNotificationsListener, OrderTopicPolicy],
    };
  }
}
