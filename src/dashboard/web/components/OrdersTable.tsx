import type { Order } from '../api.js';
import { shortId, time } from '../format.js';

export function OrdersTable({
  orders,
  loadedAt,
  watched,
  onWatch,
}: {
  orders: Order[];
  loadedAt: number | null;
  /** The order whose detail is shown, if any. */
  watched: string | null;
  onWatch: (orderId: string) => void;
}) {
  return (
    <section className="panel">
      <h2>
        My orders <span className="count">{orders.length}</span>
      </h2>
      <p className="hint">
        {loadedAt ? `Loaded from GET /api/orders at ${time(loadedAt)}, then kept live.` : 'Loading…'}
      </p>
      {orders.length === 0 ? null : (
        <table data-testid="orders">
          <thead>
            <tr>
              <th>Order</th>
              <th>Item</th>
              <th>Qty</th>
              <th>Status</th>
              <th />
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
                <td>
                  <button
                    type="button"
                    className="secondary"
                    data-testid="order-watch"
                    disabled={watched === order.id}
                    onClick={() => onWatch(order.id)}
                  >
                    Watch
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
