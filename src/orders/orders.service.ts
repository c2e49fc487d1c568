import { randomUUID } from 'node:crypto';

import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';

import { OrderPlacedEvent } from './events/order-placed.event.js';
import { OrderShippedEvent } from './events/order-shipped.event.js';
import type { Order, PlaceOrderInput } from './order.js';
import { ORDERS_OPTIONS, type OrdersOptions } from './orders.options.js';

/**
 * Orders, knowing nothing of streams or of who listens: it emits domain events
 * (`order.placed`, then `order.shipped` after a simulated delay) and that is all.
 *
 * Kept in memory, indexed by user, at most `maxPerUser` per user: a user's new
 * order past it drops that user's oldest, so no user can grow the process
 * without bound, and a listing reads that user's orders only.
 */
@Injectable()
export class OrdersService implements OnModuleDestroy {
  private readonly logger = new Logger(OrdersService.name);
  /** Every kept order by id, for ownership checks and shipment. */
  private readonly orders = new Map<string, Order>();
  /** Each user's kept orders by id, oldest first (a Map keeps insertion order). */
  private readonly byUser = new Map<string, Map<string, Order>>();
  /** Pending simulated shipments, cleared on shutdown so no timer outlives the app. */
  private readonly shipments = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(
    private readonly events: EventEmitter2,
    @Inject(ORDERS_OPTIONS) private readonly options: OrdersOptions,
  ) {}

  place(userId: string, input: PlaceOrderInput): Order {
    const order: Order = {
      id: randomUUID(),
      userId,
      item: input.item,
      quantity: input.quantity,
      status: 'placed',
      createdAt: new Date().toISOString(),
    };
    this.keep(order);
    this.events.emit(
      OrderPlacedEvent.eventName,
      new OrderPlacedEvent(order.id, userId, order.item, order.quantity, order.createdAt),
    );
    this.scheduleShipment(order.id);
    return { ...order };
  }

  /** Whether `orderId` names an order of `userId` (false for an unknown order). */
  isOwnedBy(orderId: string, userId: string): boolean {
    return this.orders.get(orderId)?.userId === userId;
  }

  /** The user's kept orders, oldest first. */
  listFor(userId: string): Order[] {
    return [...(this.byUser.get(userId)?.values() ?? [])].map((o) => ({ ...o }));
  }

  onModuleDestroy(): void {
    for (const timer of this.shipments.values()) clearTimeout(timer);
    this.shipments.clear();
  }

  private keep(order: Order): void {
    let own = this.byUser.get(order.userId);
    if (own === undefined) this.byUser.set(order.userId, (own = new Map<string, Order>()));
    if (own.size >= this.options.maxPerUser) {
      const [oldest] = own.keys();
      if (oldest !== undefined) this.drop(oldest, own);
    }
    own.set(order.id, order);
    this.orders.set(order.id, order);
  }

  /** Forgets an order, and its shipment if still pending: a dropped order never ships. */
  private drop(orderId: string, own: Map<string, Order>): void {
    own.delete(orderId);
    this.orders.delete(orderId);
    clearTimeout(this.shipments.get(orderId));
    this.shipments.delete(orderId);
  }

  private scheduleShipment(orderId: string): void {
    const timer = setTimeout(() => {
      this.shipments.delete(orderId);
      try {
        this.ship(orderId);
      } catch (err) {
        this.logger.error(`Shipping order ${orderId} failed: ${(err as Error).message}`);
      }
    }, this.options.shipDelayMs);
    this.shipments.set(orderId, timer);
  }

  private ship(orderId: string): void {
    const order = this.orders.get(orderId);
    if (!order || order.status !== 'placed') return;
    order.status = 'shipped';
    order.shippedAt = new Date().toISOString();
    this.events.emit(OrderShippedEvent.eventName, new OrderShippedEvent(order.id, order.userId, order.shippedAt));
  }
}
