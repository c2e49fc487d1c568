import { Module } from '@nestjs/common';
import { OrderNotificationsListener } from './order-notifications.listener.js';

/**
 * The mapping from domain events to what users see. `SseBridgeModule` (imported
 * by the app) discovers the `@SsePush()` handlers here at bootstrap.
 */
@Module({ providers: [OrderNotificationsListener] })
export class NotificationsModule {}
