import { SseTopic, type SseTopicPolicy, type SseUser } from '@nest-sse/server';
import { OrdersService } from '../orders/orders.service.js';

/** The topic of one order's live events: `orders/<orderId>`. */
export const orderTopic = (orderId: string): string => `orders/${orderId}`;

/**
 * The stream's user with the demo's `roles` claim. Roles reach the stream's user
 * only if the module's guard carries them over from the token; without them,
 * admins are refused like anyone else who does not own the order.
 */
type DemoStreamUser = SseUser & { roles?: readonly string[] };

/**
 * Who may watch an order live: its owner, and admins. Lives here, not in
 * src/orders, so the orders domain stays free of the SSE library; it asks
 * `OrdersService` on every connect and reconnect, so an unknown order is refused.
 */
@SseTopic('orders/:orderId')
export class OrderTopicPolicy implements SseTopicPolicy<{ orderId: string }, DemoStreamUser> {
  constructor(private readonly orders: OrdersService) {}

  canSubscribe(user: DemoStreamUser, { orderId }: { orderId: string }): boolean {
    return user.roles?.includes('admin') === true || this.orders.isOwnedBy(orderId, user.userId);
  }
}
