import { useCallback, useEffect, useState } from 'react';
import { type SseStatus, useSSE } from '@nest-sse/client/react';
import { ADMIN_STATS_INTERVAL_MS, ADMIN_STATS_TOPIC } from '../../../admin/admin-stats.js';
import type { DemoApi } from '../api.js';
import type { AdminStatsEventData, DemoEvents } from '../demo-events.js';

/** One instance's latest figures, and when they arrived. */
export interface AdminStatsRow extends AdminStatsEventData {
  receivedAt: number;
}

export interface AdminStatsFeed {
  status: SseStatus;
  /** By instance, in the order they first reported. */
  rows: AdminStatsRow[];
  /** `stats` events received: the view changes with each, without a reload. */
  updates: number;
}

/** An instance silent for this long (it stopped, or has no admin stream left) leaves the table. */
const STALE_AFTER_MS = 5 * ADMIN_STATS_INTERVAL_MS;

/**
 * A stream of its own subscribed to `admin/stats`, open while the admin view is
 * shown: the server publishes each instance's figures there every second while
 * someone watches. A non-admin's stream is refused (403), and not retried for ever.
 */
export function useAdminStats(api: DemoApi): AdminStatsFeed {
  const [rows, setRows] = useState<AdminStatsRow[]>([]);
  const [updates, setUpdates] = useState(0);

  const receive = useCallback((data: AdminStatsEventData) => {
    if (typeof data?.instance !== 'string') return;
    const row = { ...data, receivedAt: Date.now() };
    setRows((list) =>
      list.some((r) => r.instance === row.instance) ? list.map((r) => (r.instance === row.instance ? row : r)) : [...list, row],
    );
    setUpdates((n) => n + 1);
  }, []);

  useEffect(() => {
    const timer = setInterval(() => {
      setRows((list) => {
        const fresh = list.filter((r) => Date.now() - r.receivedAt < STALE_AFTER_MS);
        return fresh.length === list.length ? list : fresh;
      });
    }, ADMIN_STATS_INTERVAL_MS);
    return () => clearInterval(timer);
  }, []);

  const { status } = useSSE<DemoEvents>('/api/events', {
    getToken: () => api.freshToken(),
    topics: [ADMIN_STATS_TOPIC],
    backoff: { initialMs: 500, maxMs: 5_000 },
    maxRecoveries: 3,
    handlers: { stats: receive },
  });

  return { status, rows, updates };
}
