import { useCallback, useState } from 'react';
import { type SseStatus, useSSE } from '@nest-sse/client/react';
import { orderTopic } from '../../../notifications/order-topic.js';
import type { DemoApi } from '../api.js';
import type { DemoEvents, OrderTopicEventData } from '../demo-events.js';

/** One event of the order's topic, as listed (unique by event id). */
export interface OrderTopicItem extends OrderTopicEventData {
  id: string;
  receivedAt: number;
}

export interface OrderTopicFeed {
  topic: string;
  status: SseStatus;
  /** Oldest first. */
  events: OrderTopicItem[];
}

/**
 * A stream of its own subscribed to one order's topic (`?topic=orders/<id>`),
 * beside the session's: it lives while the order's detail is shown. That stream
 * also carries the user's own events; only the topic's `order` events are listed.
 * A refused topic (403) is not retried for ever: it gives up after a few tries.
 */
export function useOrderTopic(api: DemoApi, orderId: string): OrderTopicFeed {
  const topic = orderTopic(orderId);
  const [events, setEvents] = useState<OrderTopicItem[]>([]);

  const receive = useCallback(
    (data: OrderTopicEventData, event: MessageEvent<string>) => {
      if (data?.orderId !== orderId) return;
      const id = event.lastEventId;
      setEvents((list) => (list.some((e) => e.id === id) ? list : [...list, { ...data, id, receivedAt: Date.now() }]));
    },
    [orderId],
  );

  const { status } = useSSE<DemoEvents>('/api/events', {
    getToken: () => api.freshToken(),
    topics: [topic],
    backoff: { initialMs: 500, maxMs: 5_000 },
    maxRecoveries: 3,
    handlers: { order: receive },
  });

  return { topic, status, events };
}
