export interface OrdersOptions {
  /** Delay before an order's simulated shipment. */
  shipDelayMs: number;
  /** Orders kept per user: past it, the user's oldest is dropped (its pending shipment with it). */
  maxPerUser: number;
}

export const ORDERS_OPTIONS = Symbol('ORDERS_OPTIONS');
