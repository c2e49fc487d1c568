import { useCallback, useEffect, useRef, useState } from 'react';
import { type SseStatus, useSSE } from '../../../libs/sse-client/src/react/index.js';
import { DemoApi, type DemoSession, type Order } from './api.js';
import {
  type ActivityEntry,
  type ActivityKind,
  ActivityLog,
  AnnouncementBox,
  EventFeed,
  type FeedItem,
  OrderForm,
  OrdersTable,
} from './components.js';

/** What the demo's events carry (see src/notifications and src/announcements). */
interface DemoEventData {
  kind?: string;
  orderId?: string;
  item?: string;
  quantity?: number;
  status?: string;
  message?: string;
}

interface DemoEvents {
  notification: DemoEventData;
  update: DemoEventData;
}

const MAX_FEED = 200;
const MAX_ACTIVITY = 50;

/** Where the last seen event id is kept, so that a page reload resumes the stream (`?lastEventId=`). */
export const lastEventIdKey = (userId: string): string => `nest-sse:lastEventId:${userId}`;

function readStoredId(userId: string): string | undefined {
  try {
    return sessionStorage.getItem(lastEventIdKey(userId)) ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * One connected session: mounted by Connect, unmounted by Disconnect (which makes
 * `useSSE` close its EventSource).
 */
export function LiveSession({
  session,
  onStatus,
}: {
  session: DemoSession;
  onStatus: (status: SseStatus) => void;
}) {
  const [tokensIssued, setTokensIssued] = useState(0);
  // One token holder per mounted session (Dashboard gives each Connect a new key).
  const [api] = useState(() => new DemoApi(session, setTokensIssued));
  const [resumeFrom] = useState(() => readStoredId(session.userId));

  const [feed, setFeed] = useState<FeedItem[]>([]);
  const [duplicates, setDuplicates] = useState(0);
  const seen = useRef(new Set<string>());

  const [orders, setOrders] = useState<Order[]>([]);
  const [ordersLoadedAt, setOrdersLoadedAt] = useState<number | null>(null);

  const [activity, setActivity] = useState<ActivityEntry[]>([]);
  const activitySeq = useRef(0);
  const log = useCallback((kind: ActivityKind, text: string) => {
    const entry = { seq: ++activitySeq.current, kind, text, at: Date.now() };
    setActivity((list) => [entry, ...list].slice(0, MAX_ACTIVITY));
  }, []);

  const [recoveries, setRecoveries] = useState(0);
  const lastIdRef = useRef<string | undefined>(resumeFrom);
  const [resumedAfter, setResumedAfter] = useState<string | undefined>(undefined);
  const authExpired = useRef(false);

  const upsertOrder = useCallback((order: Partial<Order> & { id: string }) => {
    setOrders((list) => {
      const index = list.findIndex((o) => o.id === order.id);
      if (index === -1) {
        const created: Order = {
          userId: session.userId,
          item: '?',
          quantity: 0,
          status: 'placed',
          createdAt: new Date().toISOString(),
          ...order,
        };
        return [created, ...list];
      }
      const next = [...list];
      const existing = next[index]!;
      // Never move a shipped order back to placed (a late notification after the update).
      const status = existing.status === 'shipped' ? 'shipped' : (order.status ?? existing.status);
      next[index] = { ...existing, ...order, status };
      return next;
    });
  }, [session.userId]);

  const reloadOrders = useCallback(async (): Promise<number> => {
    const list = await api.listOrders();
    setOrders([...list].sort((a, b) => b.createdAt.localeCompare(a.createdAt)));
    setOrdersLoadedAt(Date.now());
    return list.length;
  }, [api]);

  /** Lists an event once per id; counts (and drops) a second delivery of the same id. */
  const receive = (type: string, data: DemoEventData, event: MessageEvent<string>): boolean => {
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
    setFeed((list) => [item, ...list].slice(0, MAX_FEED));
    return true;
  };

  const { status, error, lastEventId } = useSSE<DemoEvents>('/api/events', {
    getToken: () => api.freshToken(),
    lastEventId: resumeFrom,
    backoff: { initialMs: 500, maxMs: 5_000 },
    onNotification: (data, event) => {
      if (!receive('notification', data, event)) return;
      if (data?.orderId) {
        upsertOrder({ id: data.orderId, item: data.item ?? '?', quantity: data.quantity ?? 0, status: 'placed' });
      }
    },
    onUpdate: (data, event) => {
      if (!receive('update', data, event)) return;
      if (data?.orderId && data.status === 'shipped') upsertOrder({ id: data.orderId, status: 'shipped' });
    },
    onReset: ({ reason }) => {
      // The server could not resume from our last event id: what we show may be stale.
      reloadOrders().then(
        (count) => log('reset', `Reset (${reason}): reloaded ${count} order(s) from the API.`),
        (err: unknown) => log('error', `Reset (${reason}), but reloading the orders failed: ${String(err)}`),
      );
    },
    onAuthExpired: () => {
      authExpired.current = true;
      log('auth-expired', 'Token expired: the server ended the stream. Getting a fresh token…');
    },
    onStatus: (next, previous) => {
      if (next === 'open' && previous === 'reconnecting') {
        setRecoveries((n) => n + 1);
        setResumedAfter(lastIdRef.current);
        log('recovered', `Recovered: resumed after event ${lastIdRef.current ?? '(none yet)'}.`);
      } else if (next === 'open') {
        log('connected', resumeFrom ? `Connected, resuming after event ${resumeFrom}.` : 'Connected.');
      } else if (next === 'reconnecting' && previous === 'open') {
        // After `auth-expired` the client reports `reconnecting` just before calling
        // onAuthExpired: look once that has run.
        queueMicrotask(() => {
          if (!authExpired.current) log('lost', 'Connection lost: reconnecting…');
          authExpired.current = false;
        });
      } else if (next === 'error') {
        log('error', 'Gave up reconnecting.');
      }
    },
    onError: (err) => {
      if (err.code !== 'connection') log('error', `${err.code}: ${err.message}`);
    },
  });

  useEffect(() => {
    onStatus(status);
  }, [status, onStatus]);

  useEffect(() => {
    lastIdRef.current = lastEventId;
    if (!lastEventId) return;
    try {
      sessionStorage.setItem(lastEventIdKey(session.userId), lastEventId);
    } catch {
      /* storage unavailable: a reload then starts live */
    }
  }, [lastEventId, session.userId]);

  useEffect(() => {
    reloadOrders().catch((err: unknown) => log('error', `Loading the orders failed: ${String(err)}`));
  }, [reloadOrders, log]);

  useEffect(() => {
    if (tokensIssued > 1) log('token', `New token #${tokensIssued} from getToken().`);
  }, [tokensIssued, log]);

  const placeOrder = async (item: string, quantity: number) => {
    const order = await api.placeOrder(item, quantity);
    upsertOrder(order);
    log('order', `Order ${order.id.slice(0, 8)} placed; waiting for its notification.`);
  };

  return (
    <>
      <ConnectionBanner
        status={status}
        recoveries={recoveries}
        resumedAfter={resumedAfter}
        lastEventId={lastEventId}
        errorMessage={error?.message}
      />
      <div className="session-meta">
        <span>
          Signed in as <strong>{session.userId}</strong>
          {session.admin ? ' (admin)' : ''}
        </span>
        <span>
          Tokens issued: <strong data-testid="tokens">{tokensIssued}</strong>
          {session.ttlSec ? ` (each valid ${session.ttlSec} s)` : ''}
        </span>
        <span>
          Last event id: <code data-testid="last-event-id">{lastEventId ?? '—'}</code>
        </span>
      </div>
      <div className="grid">
        <EventFeed items={feed} duplicates={duplicates} />
        <div className="side">
          <OrderForm onSubmit={placeOrder} />
          <AnnouncementBox admin={session.admin} onSubmit={(message) => api.announce(message)} />
          <OrdersTable orders={orders} loadedAt={ordersLoadedAt} />
          <ActivityLog entries={activity} />
        </div>
      </div>
    </>
  );
}

function ConnectionBanner({
  status,
  recoveries,
  resumedAfter,
  lastEventId,
  errorMessage,
}: {
  status: SseStatus;
  recoveries: number;
  resumedAfter: string | undefined;
  lastEventId: string | undefined;
  errorMessage: string | undefined;
}) {
  if (status === 'reconnecting') {
    return (
      <div className="banner banner-reconnecting" data-testid="reconnecting" role="status">
        <strong>Reconnecting…</strong> The stream ended. Events published meanwhile will be replayed
        {lastEventId ? (
          <>
            {' '}
            after <code>{lastEventId}</code>
          </>
        ) : null}
        .
      </div>
    );
  }
  if (status === 'error') {
    return (
      <div className="banner banner-error" role="alert">
        <strong>Disconnected.</strong> {errorMessage ?? 'The client gave up.'}
      </div>
    );
  }
  if (status === 'open' && recoveries > 0) {
    return (
      <div className="banner banner-recovered" data-testid="recovered" data-recoveries={recoveries} role="status">
        <strong>Recovered</strong> — reconnected {recoveries === 1 ? 'once' : `${recoveries} times`}, resumed after{' '}
        <code>{resumedAfter ?? 'the start'}</code>: the server replayed what was published meanwhile.
      </div>
    );
  }
  return null;
}
