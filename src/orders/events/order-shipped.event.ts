/** Emitted by `OrdersService` when a (simulated) shipment leaves. */
export class OrderShippedEvent {
  static readonly eventName = 'order.shipped';

  constructor(
    readonly orderId: string,
    readonly userId: string,
    readonly shippedAt: string,
  ) {}
}
