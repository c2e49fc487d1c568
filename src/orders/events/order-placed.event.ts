/** Emitted by `OrdersService` once an order is stored. Plain domain data, nothing about delivery. */
export class OrderPlacedEvent {
  static readonly eventName = 'order.placed';

  constructor(
    readonly orderId: string,
    readonly userId: string,
    readonly item: string,
    readonly quantity: number,
    readonly placedAt: string,
  ) {}
}
