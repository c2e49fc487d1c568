/**
 * The demo's order topics, as the stream's clients see them. The dashboard bundles
 * this file: it imports nothing.
 */

/** The topics of single orders, as `@SseTopic()` declares them. */
export const ORDER_TOPIC_PATTERN = 'orders/:orderId';

/** The topic of one order's live events (a name `ORDER_TOPIC_PATTERN` matches). */
export const orderTopic = (orderId: string): string => `orders/${orderId}`;

/**
 * The SSE event type of what an order's topic receives. Not the owner's
 * `notification` / `update`: a stream that gets both (the owner's, subscribed to
 * the topic) can tell them apart, and a client handling only the owner's types
 * never sees the topic's.
 */
export const ORDER_TOPIC_EVENT_TYPE = 'order';

/** The data of an `order` event: what anyone allowed to watch the order may see. */
export interface OrderTopicEventData {
  kind: 'order.placed' | 'order.shipped';
  orderId: string;
  status: 'placed' | 'shipped';
  item?: string;
  quantity?: number;
  /** When it happened (ISO 8601). */
  at: string;
  message: string;
}
