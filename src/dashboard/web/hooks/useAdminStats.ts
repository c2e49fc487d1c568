import { fetchSseTicket } from '@nest-sse/client';
import { type SseStatus, useSSE } from '@nest-sse/client/react';
import { useCallback, useEffect, useState } from 'react';

import { ADMIN_STATS_INTERVAL_MS, ADMIN_STATS_TOPIC } from '../../../admin/admin-stats.js';
import { type DemoApi, shareKeyOf } from '../api.js';
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
 * `admin/stats`, subscribed to while the admin view is shown: the server publishes each
 * instance's figures there every second while someone watches. Like the order detail,
 * it shares the session's stream (the leader adds the topic, and drops it when the view
 * closes). A non-admin's subscription is refused (403): that client goes solo and is
 * not retried for ever.
 */
export function useAdminStats(api: DemoApi): AdminStatsFeed {
  const [rows, setRows] = useState<AdminStatsRow[]>([]);
  const [updates, setUpdates] = useState(0);

  const receive = useCallback((data: AdminStatsEventData) => {
    if (typeof data?.instance !== 'string') return;
    const row = { ...data, receivedAt: Date.now() };
    setRows((list) =>
      list.some((r) => r.instance === row.instance)
        ? list.map((r) => (r.instance === row.instance ? row : r))
        : [...list, row],
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
    key: shareKeyOf(api.session),
    share: api.session.share ?? true,
    // The topics go in the ticket request (the server binds them into the ticket).
    getTicket: async ({ topics }) => fetchSseTicket('/api/events', await api.freshToken(), { topics }),
    topics: [ADMIN_STATS_TOPIC],
    backoff: { initialMs: 500, maxMs: 5_000 },
    maxRecoveries: 3,
    handlers: { stats: receive },
  });

  return { status, rows, updates };
}
