export interface OrdersOptions {
  /** Delay before an order's simulated shipment. */
  shipDelayMs: number;
}

export const ORDERS_OPTIONS = Symbol('ORDERS_OPTIONS');
