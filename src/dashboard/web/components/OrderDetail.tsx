import type { DemoApi, Order } from '../api.js';
import { shortId, time } from '../format.js';
import { useOrderTopic } from '../hooks/useOrderTopic.js';

/**
 * One order, watched live through its topic: what the table knows, then what the
 * topic sends. Mounted while shown: unmounting closes its stream.
 */
export function OrderDetail({ order, api, onClose }: { order: Order; api: DemoApi; onClose: () => void }) {
  const feed = useOrderTopic(api, order.id);
  return (
    <section className="panel" data-testid="order-detail" data-order-id={order.id}>
      <h2>
        Order <code title={order.id}>{shortId(order.id)}</code>
        <span className={`badge status-${feed.status}`} data-testid="order-detail-status">
          {feed.status}
        </span>
        <button type="button" className="secondary" data-testid="order-detail-close" onClick={onClose}>
          Close
        </button>
      </h2>
      <p className="hint">
        {order.quantity} x {order.item}, {order.status}. Live from <code>GET /api/events?topic={feed.topic}</code> (a
        second stream, open while this is shown).
      </p>
      {feed.events.length === 0 ? <p className="empty">No event on the topic yet.</p> : null}
      <ul className="events" data-testid="order-detail-events">
        {feed.events.map((event) => (
          <li
            key={event.id}
            className="event"
            data-testid="order-detail-event"
            data-kind={event.kind}
            data-event-id={event.id}
          >
            <span className={`tag tag-${event.status}`}>{event.status}</span>
            <span className="message">{event.message}</span>
            <span className="meta">
              order <code>{event.orderId}</code> · id <code>{event.id}</code> · {time(event.receivedAt)}
            </span>
          </li>
        ))}
      </ul>
    </section>
  );
}
