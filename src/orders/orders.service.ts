import { Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { SseService } from '../../libs/sse/src/index.js';
import type { Order, PlaceOrderInput } from './order.js';

/** Orders, knowing nothing of HTTP streams: it only says who should hear about an order. */
@Injectable()
export class OrdersService {
  private readonly orders = new Map<string, Order>();

  constructor(private readonly sse: SseService) {}

  place(userId: string, input: PlaceOrderInput): Order {
    const order: Order = {
      id: randomUUID(),
      userId,
      item: input.item,
      quantity: input.quantity,
      status: 'placed',
      createdAt: new Date().toISOString(),
    };
    this.orders.set(order.id, order);
    this.sse.sendToUser(userId, {
      type: 'notification',
      data: {
        kind: 'order.placed',
        orderId: order.id,
        item: order.item,
        quantity: order.quantity,
        message: `Order placed: ${order.quantity} x ${order.item}`,
      },
    });
    return order;
  }

  listFor(userId: string): Order[] {
    return [...this.orders.values()].filter((o) => o.userId === userId);
  }
}
