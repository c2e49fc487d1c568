import { SsePush, type SsePushTarget } from '@nest-sse/server/bridge';
import { Injectable } from '@nestjs/common';

import { OrderPlacedEvent } from '../orders/events/order-placed.event.js';
import { OrderShippedEvent } from '../orders/events/order-shipped.event.js';
import { ORDER_TOPIC_EVENT_TYPE, orderTopic, type OrderTopicEventData } from './order-topic.js';

/**
 * Where order events become pushes. The orders domain does not know this class
 * exists: it emits, and `@SsePush()` subscribes these handlers and sends what
 * they return. Each handler chooses exactly which fields leave the server: the
 * owner's push (unchanged, part of the demo's contract) and, added beside it,
 * the order's topic event for whoever watches the order (its owner, admins).
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

  @SsePush(OrderPlacedEvent.eventName, { type: ORDER_TOPIC_EVENT_TYPE })
  orderPlacedOnTopic(event: OrderPlacedEvent): SsePushTarget<OrderTopicEventData> {
    return {
      topic: orderTopic(event.orderId),
      data: {
        kind: 'order.placed',
        orderId: event.orderId,
        status: 'placed',
        item: event.item,
        quantity: event.quantity,
        at: event.placedAt,
        message: `Order placed: ${event.quantity} x ${event.item}`,
      },
    };
  }

  @SsePush(OrderShippedEvent.eventName, { type: ORDER_TOPIC_EVENT_TYPE })
  orderShippedOnTopic(event: OrderShippedEvent): SsePushTarget<OrderTopicEventData> {
    return {
      topic: orderTopic(event.orderId),
      data: {
        kind: 'order.shipped',
        orderId: event.orderId,
        status: 'shipped',
        at: event.shippedAt,
        message: `Order ${event.orderId.slice(0, 8)} has shipped`,
      },
    };
  }
}
