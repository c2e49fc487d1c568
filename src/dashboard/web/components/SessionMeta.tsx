import type { DemoSession } from '../api.js';

/** Who is signed in, how many tokens the session has used, and the stream's position. */
export function SessionMeta({
  session,
  tokensIssued,
  lastEventId,
}: {
  session: DemoSession;
  tokensIssued: number;
  lastEventId: string | undefined;
}) {
  return (
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
  );
}
