import { type FormEvent, useState } from 'react';

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
    <form className="panel" onSubmit={(e) => void submit(e)} data-testid="order-form">
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
