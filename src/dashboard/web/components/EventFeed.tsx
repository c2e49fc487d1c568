import { time } from '../format.js';
import type { FeedItem } from '../hooks/useEventFeed.js';

export function EventFeed({ items, duplicates }: { items: FeedItem[]; duplicates: number }) {
  return (
    <section className="panel feed">
      <h2>
        Live events <span className="count">{items.length}</span>
      </h2>
      <p className="hint">
        Newest first. Listed once per event id; duplicates dropped: <span data-testid="duplicates">{duplicates}</span>
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
