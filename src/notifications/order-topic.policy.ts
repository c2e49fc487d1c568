import { SseTopic, type SseTopicPolicy, type SseUser } from '@nest-sse/server';

import { OrdersService } from '../orders/orders.service.js';
import { ORDER_TOPIC_PATTERN } from './order-topic.js';

/**
 * Who may watch an order live (`orders/<orderId>`): its owner, and admins. Lives
 * here, not in src/orders, so the orders domain stays free of the SSE library.
 * Asked on every connect and reconnect; an order the store does not know is
 * nobody's (admins aside).
 */
@SseTopic(ORDER_TOPIC_PATTERN)
export class OrderTopicPolicy implements SseTopicPolicy<{ orderId: string }> {
  constructor(private readonly orders: OrdersService) {}

  canSubscribe(user: SseUser, { orderId }: { orderId: string }): boolean {
    return user.roles?.includes('admin') === true || this.orders.isOwnedBy(orderId, user.userId);
  }
}
