import { type FormEvent, useState } from 'react';

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
    <form className="panel" onSubmit={(e) => void submit(e)} data-testid="announce-form">
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
