import { useCallback, useEffect, useState } from 'react';

import type { DemoApi, Order } from '../api.js';
import type { DemoEventData } from '../demo-events.js';
import { shortId } from '../format.js';
import type { LogActivity } from './useActivityLog.js';

export interface Orders {
  /** Newest first. */
  orders: Order[];
  /** When `GET /api/orders` last answered; `null` until then. */
  loadedAt: number | null;
  /** Keeps the list live from a listed event: a notification adds its order, an update marks it shipped. */
  follow: (type: string, data: DemoEventData) => void;
  /** Places an order through the API and lists it at once (its notification follows). */
  place: (item: string, quantity: number) => Promise<void>;
  /** The server could not resume the stream: what is shown may be stale, so load it again. */
  reloadAfterReset: (reason: string) => void;
}

/** The user's orders: loaded from the API on mount, then kept live from the stream's events. */
export function useOrders(api: DemoApi, userId: string, log: LogActivity): Orders {
  const [orders, setOrders] = useState<Order[]>([]);
  const [loadedAt, setLoadedAt] = useState<number | null>(null);

  const upsert = useCallback(
    (order: Partial<Order> & { id: string }) => {
      setOrders((list) => {
        const index = list.findIndex((o) => o.id === order.id);
        if (index === -1) {
          const created: Order = {
            userId,
            item: '?',
            quantity: 0,
            status: 'placed',
            createdAt: new Date().toISOString(),
            ...order,
          };
          return [created, ...list];
        }
        const next = [...list];
        const existing = next[index];
        // Never move a shipped order back to placed (a late notification after the update).
        const status = existing.status === 'shipped' ? 'shipped' : (order.status ?? existing.status);
        next[index] = { ...existing, ...order, status };
        return next;
      });
    },
    [userId],
  );

  const reload = useCallback(async (): Promise<number> => {
    const list = await api.listOrders();
    setOrders([...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt)));
    setLoadedAt(Date.now());
    return list.length;
  }, [api]);

  useEffect(() => {
    reload().catch((err: unknown) => log('error', `Loading the orders failed: ${String(err)}`));
  }, [reload, log]);

  const follow = useCallback(
    (type: string, data: DemoEventData) => {
      if (!data?.orderId) return;
      if (type === 'notification') {
        upsert({ id: data.orderId, item: data.item ?? '?', quantity: data.quantity ?? 0, status: 'placed' });
      } else if (type === 'update' && data.status === 'shipped') {
        upsert({ id: data.orderId, status: 'shipped' });
      }
    },
    [upsert],
  );

  const place = useCallback(
    async (item: string, quantity: number) => {
      const order = await api.placeOrder(item, quantity);
      upsert(order);
      log('order', `Order ${shortId(order.id)} placed; waiting for its notification.`);
    },
    [api, upsert, log],
  );

  const reloadAfterReset = useCallback(
    (reason: string) => {
      reload().then(
        (count) => log('reset', `Reset (${reason}): reloaded ${count} order(s) from the API.`),
        (err: unknown) => log('error', `Reset (${reason}), but reloading the orders failed: ${String(err)}`),
      );
    },
    [reload, log],
  );

  return { orders, loadedAt, follow, place, reloadAfterReset };
}
