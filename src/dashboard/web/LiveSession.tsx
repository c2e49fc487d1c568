import { fetchSseTicket } from '@nest-sse/client';
import { type SseStatus, useSSE } from '@nest-sse/client/react';
import { useEffect, useState } from 'react';

import { type DemoSession, shareKeyOf } from './api.js';
import { ActivityLog } from './components/ActivityLog.js';
import { AdminPanel } from './components/AdminPanel.js';
import { AnnouncementBox } from './components/AnnouncementBox.js';
import { ConnectionBanner } from './components/ConnectionBanner.js';
import { EventFeed } from './components/EventFeed.js';
import { OrderDetail } from './components/OrderDetail.js';
import { OrderForm } from './components/OrderForm.js';
import { OrdersTable } from './components/OrdersTable.js';
import { SessionMeta } from './components/SessionMeta.js';
import type { DemoEventData, DemoEvents } from './demo-events.js';
import { useActivityLog } from './hooks/useActivityLog.js';
import { useConnectionHistory } from './hooks/useConnectionHistory.js';
import { useDemoApi } from './hooks/useDemoApi.js';
import { useEventFeed } from './hooks/useEventFeed.js';
import { useOrders } from './hooks/useOrders.js';
import { useStoredLastEventId } from './hooks/useStoredLastEventId.js';

/**
 * One connected session: mounted by Connect, unmounted by Disconnect (which makes
 * `useSSE` close its EventSource). Wires the stream to the page's state; each piece
 * of state is its own hook.
 */
export function LiveSession({ session, onStatus }: { session: DemoSession; onStatus: (status: SseStatus) => void }) {
  const { entries, log } = useActivityLog();
  const { api, tokensIssued } = useDemoApi(session, log);
  const feed = useEventFeed();
  const orders = useOrders(api, session.userId, log);
  const stored = useStoredLastEventId(session.userId);
  const connection = useConnectionHistory(stored.resumeFrom, log);
  /** The order whose detail (and topic stream) is shown. */
  const [watched, setWatched] = useState<string | null>(null);
  const watchedOrder = orders.orders.find((o) => o.id === watched);

  /** An event listed for the first time also updates the orders; a repeat does nothing. */
  const receive = (type: keyof DemoEvents, data: DemoEventData, event: MessageEvent<string>) => {
    if (feed.receive(type, data, event)) orders.follow(type, data);
  };

  const { status, error, lastEventId, shareRole } = useSSE<DemoEvents>('/api/events', {
    key: shareKeyOf(session),
    share: session.share ?? true,
    // A ticket per connection (POST with the token in Authorization): the token is never in a URL.
    // Each ticket is asked with a fresh token; the stream still ends at that token's exp.
    getTicket: async ({ topics }) => fetchSseTicket('/api/events', await api.freshToken(), { topics }),
    lastEventId: stored.resumeFrom,
    backoff: { initialMs: 500, maxMs: 5_000 },
    handlers: {
      notification: (data, event) => receive('notification', data, event),
      update: (data, event) => receive('update', data, event),
    },
    onReset: ({ reason }) => orders.reloadAfterReset(reason),
    onAuthExpired: () =>
      log('auth-expired', 'Token expired: the server ended the stream. Getting a fresh token and ticket…'),
    onStatus: connection.onStatus,
    onLastEventId: connection.onLastEventId,
    // Where the stream stands (a shared stream's opening included), so a reload before any event misses nothing.
    onPosition: (position) => stored.remember(position),
    // Connection failures show as the status and the banner.
    onError: (err) => {
      if (err.code !== 'connection') log('error', `${err.code}: ${err.message}`);
    },
  });

  useEffect(() => {
    onStatus(status);
  }, [status, onStatus]);

  return (
    <>
      <ConnectionBanner
        status={status}
        recoveries={connection.recoveries}
        resumedAfter={connection.resumedAfter}
        lastEventId={lastEventId}
        errorMessage={error?.message}
        reason={error?.reason}
      />
      <SessionMeta session={session} tokensIssued={tokensIssued} lastEventId={lastEventId} shareRole={shareRole} />
      <div className="grid">
        <EventFeed items={feed.items} duplicates={feed.duplicates} />
        <div className="side">
          {session.admin ? <AdminPanel api={api} /> : null}
          <OrderForm onSubmit={orders.place} />
          <AnnouncementBox admin={session.admin} onSubmit={(message) => api.announce(message)} />
          {watchedOrder ? (
            <OrderDetail key={watchedOrder.id} order={watchedOrder} api={api} onClose={() => setWatched(null)} />
          ) : null}
          <OrdersTable orders={orders.orders} loadedAt={orders.loadedAt} watched={watched} onWatch={setWatched} />
          <ActivityLog entries={entries} />
        </div>
      </div>
    </>
  );
}
