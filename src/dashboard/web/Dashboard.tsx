import type { SseStatus } from '@nest-sse/client/react';
import { type FormEvent, useCallback, useState } from 'react';

import type { DemoSession } from './api.js';
import { StatusBadge } from './components/StatusBadge.js';
import { LiveSession } from './LiveSession.js';

/**
 * Page options from the URL: `?user=alice&admin=1&ttl=3&share=0` (ttl: seconds each dev
 * token lives, to watch `auth-expired` and the renewal through `getTicket()`; share=0: this
 * tab opens its own stream instead of sharing one with the other tabs).
 */
export function readPageOptions(search: string): { userId: string; admin: boolean; ttlSec?: number; share: boolean } {
  const params = new URLSearchParams(search);
  const ttl = Number(params.get('ttl'));
  return {
    userId: params.get('user') || 'alice',
    admin: params.get('admin') === '1' || params.get('admin') === 'true',
    ttlSec: Number.isInteger(ttl) && ttl > 0 ? ttl : undefined,
    share: params.get('share') !== '0' && params.get('share') !== 'false',
  };
}

export function Dashboard({ initial }: { initial: ReturnType<typeof readPageOptions> }) {
  const [userId, setUserId] = useState(initial.userId);
  const [admin, setAdmin] = useState(initial.admin);
  /** The connected session; a new object (and React key) per Connect. */
  const [session, setSession] = useState<(DemoSession & { n: number }) | null>(null);
  const [status, setStatus] = useState<SseStatus>('closed');
  const onStatus = useCallback((next: SseStatus) => setStatus(next), []);

  function connect(event: FormEvent) {
    event.preventDefault();
    const id = userId.trim();
    if (!id) return;
    setSession((previous) => ({
      userId: id,
      admin,
      ttlSec: initial.ttlSec,
      share: initial.share,
      n: (previous?.n ?? 0) + 1,
    }));
    setStatus('connecting');
  }

  function disconnect() {
    setSession(null); // unmounts LiveSession: useSSE closes the EventSource
    setStatus('closed');
  }

  return (
    <div className="page">
      <header>
        <h1>
          nest-sse <span className="subtitle">live dashboard</span>
        </h1>
        <form className="connection" onSubmit={connect}>
          <label>
            User id{' '}
            <input
              data-testid="user-id"
              value={userId}
              disabled={session !== null}
              pattern="[A-Za-z0-9._@\-]{1,64}"
              onChange={(e) => setUserId(e.target.value)}
            />
          </label>
          <label>
            <input
              type="checkbox"
              data-testid="admin"
              checked={admin}
              disabled={session !== null}
              onChange={(e) => setAdmin(e.target.checked)}
            />{' '}
            admin
          </label>
          {/* Distinct keys: reusing one <button> would let the click on Disconnect, once React
              has turned it into the submit button, submit the form and connect again. */}
          {session ? (
            <button key="disconnect" type="button" data-testid="disconnect" onClick={disconnect}>
              Disconnect
            </button>
          ) : (
            <button key="connect" type="submit" data-testid="connect">
              Connect
            </button>
          )}
          <StatusBadge status={status} />
        </form>
      </header>
      {session ? (
        <LiveSession key={session.n} session={session} onStatus={onStatus} />
      ) : (
        <p className="idle" data-testid="idle">
          Not connected. Choose a user and press <strong>Connect</strong>: the page gets a dev token from{' '}
          <code>POST /api/dev/token</code>, trades it for a one-time ticket (<code>POST /api/events</code>, token in the{' '}
          <code>Authorization</code> header) and opens <code>GET /api/events?ticket=</code> with <code>useSSE()</code>.
        </p>
      )}
    </div>
  );
}
