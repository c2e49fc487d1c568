import { type FormEvent, useState } from 'react';
import type { SseStatus } from '../../../libs/sse-client/src/react/index.js';
import type { Order } from './api.js';

/** One server event as listed (unique by `id`). */
export interface FeedItem {
  id: string;
  type: string;
  message: string;
  orderId?: string;
  kind?: string;
  receivedAt: number;
}

export type ActivityKind =
  | 'connected'
  | 'lost'
  | 'recovered'
  | 'auth-expired'
  | 'token'
  | 'reset'
  | 'order'
  | 'error'
  | 'closed';

export interface ActivityEntry {
  seq: number;
  kind: ActivityKind;
  text: string;
  at: number;
}

const time = (ms: number): string => new Date(ms).toLocaleTimeString([], { hour12: false });
const shortId = (id: string): string => (id.length > 8 ? id.slice(0, 8) : id);

export function StatusBadge({ status }: { status: SseStatus }) {
  return (
    <span className={`badge status-${status}`} data-testid="status" aria-live="polite">
      {status}
    </span>
  );
}

export function EventFeed({ items, duplicates }: { items: FeedItem[]; duplicates: number }) {
  return (
    <section className="panel feed">
      <h2>
        Live events <span className="count">{items.length}</span>
      </h2>
      <p className="hint">
        Newest first. Listed once per event id; duplicates dropped:{' '}
        <span data-testid="duplicates">{duplicates}</span>
      </p>
      {items.length === 0 ? <p className="empty">Nothing yet: place an order or send an announcement.</p> : null}
      <ul className="events" data-testid="events">
        {items.map((item) => (
          <li
            key={item.id}
            className={`event type-${item.type}`}
            data-testid="event"
            data-event-id={item.id}
            data-event-type={item.type}
          >
            <span className={`tag tag-${item.type}`}>{item.type}</span>
            <span className="message">{item.message}</span>
            <span className="meta">
              {item.orderId ? (
                <>
                  order <code data-testid="event-order-id">{item.orderId}</code> ·{' '}
                </>
              ) : null}
              id <code>{item.id}</code> · {time(item.receivedAt)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}

export function OrderForm({ onSubmit }: { onSubmit: (item: string, quantity: number) => Promise<unknown> }) {
  const [item, setItem] = useState('coffee');
  const [quantity, setQuantity] = useState(1);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await onSubmit(item, quantity);
    } catch (err) {
      setError(err instanceof Error ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="panel" onSubmit={submit} data-testid="order-form">
      <h2>Place an order</h2>
      <div className="row">
        <input
          aria-label="Item"
          data-testid="order-item"
          value={item}
          required
          maxLength={200}
          onChange={(e) => setItem(e.target.value)}
        />
        <span>×</span>
        <input
          aria-label="Quantity"
          data-testid="order-quantity"
          type="number"
          min={1}
          value={quantity}
          required
          className="qty"
          onChange={(e) => setQuantity(Number(e.target.value))}
        />
        <button type="submit" disabled={busy} data-testid="order-submit">
          Order
        </button>
      </div>
      {error ? (
        <p className="error" role="alert">
          {error}
        </p>
      ) : null}
    </form>
  );
}

export function AnnouncementBox({ admin, onSubmit }: { admin: boolean; onSubmit: (message: string) => Promise<void> }) {
  const [message, setMessage] = useState('Maintenance tonight at 22:00');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string } | null>(null);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setResult(null);
    try {
      await onSubmit(message);
      setResult({ ok: true, text: 'Sent to every open stream.' });
    } catch (err) {
      setResult({ ok: false, text: err instanceof Error ? err.message : String(err) });
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="panel" onSubmit={submit} data-testid="announce-form">
      <h2>Announcement {admin ? null : <span className="hint">(admins only)</span>}</h2>
      <div className="row">
        <input
          aria-label="Announcement"
          data-testid="announce-message"
          value={message}
          required
          maxLength={1000}
          disabled={!admin}
          onChange={(e) => setMessage(e.target.value)}
        />
        <button type="submit" disabled={!admin || busy} data-testid="announce-submit">
          Announce
        </button>
      </div>
      {result ? (
        <p className={result.ok ? 'ok' : 'error'} role={result.ok ? 'status' : 'alert'}>
          {result.text}
        </p>
      ) : null}
    </form>
  );
}

export function OrdersTable({ orders, loadedAt }: { orders: Order[]; loadedAt: number | null }) {
  return (
    <section className="panel">
      <h2>
        My orders <span className="count">{orders.length}</span>
      </h2>
      <p className="hint">{loadedAt ? `Loaded from GET /api/orders at ${time(loadedAt)}, then kept live.` : 'Loading…'}</p>
      {orders.length === 0 ? null : (
        <table data-testid="orders">
          <thead>
            <tr>
              <th>Order</th>
              <th>Item</th>
              <th>Qty</th>
              <th>Status</th>
            </tr>
          </thead>
          <tbody>
            {orders.map((order) => (
              <tr key={order.id} data-order-id={order.id}>
                <td>
                  <code title={order.id}>{shortId(order.id)}</code>
                </td>
                <td>{order.item}</td>
                <td>{order.quantity}</td>
                <td>
                  <span className={`tag tag-${order.status}`} data-testid="order-status">
                    {order.status}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

export function ActivityLog({ entries }: { entries: ActivityEntry[] }) {
  return (
    <section className="panel">
      <h2>Connection activity</h2>
      <ul className="activity" data-testid="activity">
        {entries.map((entry) => (
          <li key={entry.seq} data-kind={entry.kind} className={`activity-${entry.kind}`}>
            <span className="at">{time(entry.at)}</span> {entry.text}
          </li>
        ))}
      </ul>
    </section>
  );
}
