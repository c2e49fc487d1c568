import { fetchSseTicket } from '@nest-sse/client';
import { type SseStatus, useSSE } from '@nest-sse/client/react';
import { useCallback, useState } from 'react';

import { orderTopic } from '../../../notifications/order-topic.js';
import { type DemoApi, shareKeyOf } from '../api.js';
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
 * One order's topic (`orders/<id>`), while the order's detail is shown. Its client has
 * the session's share key, so it shares the tab's (and the other tabs') stream: the
 * leader adds the topic to that stream, and this client receives only the topic's
 * events besides the user's own. With `?share=0` it is a stream of its own.
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
    key: shareKeyOf(api.session),
    share: api.session.share ?? true,
    // The topics go in the ticket request (the server binds them into the ticket).
    getTicket: async ({ topics }) => fetchSseTicket('/api/events', await api.freshToken(), { topics }),
    topics: [topic],
    backoff: { initialMs: 500, maxMs: 5_000 },
    maxRecoveries: 3,
    handlers: { order: receive },
  });

  return { topic, status, events };
}
