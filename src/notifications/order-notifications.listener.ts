import { Injectable } from '@nestjs/common';
import { SsePush, type SsePushTarget } from '@nest-sse/server/bridge';
import { OrderPlacedEvent } from '../orders/events/order-placed.event.js';
import { OrderShippedEvent } from '../orders/events/order-shipped.event.js';

/**
 * Where order events become pushes. The orders domain does not know this class
 * exists: it emits, and `@SsePush()` subscribes these handlers and sends what
 * they return. Each handler chooses exactly which fields leave the server.
 */
@Injectable()
export class OrderNotificationsListener {
  @SsePush(OrderPlacedEvent.eventName, { type: 'notification' })
  orderPlaced(event: OrderPlacedEvent): SsePushTarget {
    return {
      userId: event.userId,
      data: {
        kind: 'order.placed',
        orderId: event.orderId,
        item: event.item,
        quantity: event.quantity,
        message: `Order placed: ${event.quantity} x ${event.item}`,
      },
    };
  }

  @SsePush(OrderShippedEvent.eventName, { type: 'update' })
  orderShipped(event: OrderShippedEvent): SsePushTarget {
    return {
      userId: event.userId,
      data: {
        kind: 'order.shipped',
        orderId: event.orderId,
        status: 'shipped',
        shippedAt: event.shippedAt,
        message: `Order ${event.orderId.slice(0, 8)} has shipped`,
      },
    };
  }
}
