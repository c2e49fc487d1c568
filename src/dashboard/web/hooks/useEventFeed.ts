import { useCallback, useRef, useState } from 'react';

import type { DemoEventData } from '../demo-events.js';

/** One server event as listed (unique by `id`). */
export interface FeedItem {
  id: string;
  type: string;
  message: string;
  orderId?: string;
  kind?: string;
  receivedAt: number;
}

export interface EventFeed {
  /** Newest first, the last 200. */
  items: FeedItem[];
  /** Deliveries dropped because their event id was already listed (a replay overlapping the live stream). */
  duplicates: number;
  /** Lists an event once per id; returns `false` (and counts it) for a second delivery of an id. */
  receive: (type: string, data: DemoEventData, event: MessageEvent<string>) => boolean;
}

const MAX_FEED = 200;

/** The "Live events" list, de-duplicated by event id. */
export function useEventFeed(): EventFeed {
  const [items, setItems] = useState<FeedItem[]>([]);
  const [duplicates, setDuplicates] = useState(0);
  // Every id ever listed, not only the 200 shown: a late replay must not list an old event again.
  const seen = useRef(new Set<string>());

  const receive = useCallback((type: string, data: DemoEventData, event: MessageEvent<string>): boolean => {
    const id = event.lastEventId;
    if (id) {
      if (seen.current.has(id)) {
        setDuplicates((n) => n + 1);
        return false;
      }
      seen.current.add(id);
    }
    const item: FeedItem = {
      id: id || `local-${Date.now()}-${Math.random()}`,
      type,
      kind: data?.kind,
      orderId: data?.orderId,
      message: data?.message ?? JSON.stringify(data),
      receivedAt: Date.now(),
    };
    setItems((list) => [item, ...list].slice(0, MAX_FEED));
    return true;
  }, []);

  return { items, duplicates, receive };
}
