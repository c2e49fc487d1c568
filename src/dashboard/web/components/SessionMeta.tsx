import type { SseShareRole } from '@nest-sse/client';

import type { DemoSession } from '../api.js';

const SHARE_ROLE_TEXT: Record<SseShareRole, string> = {
  leader: 'this tab holds the stream for the other tabs',
  follower: "another tab's stream",
  none: 'its own stream',
};

/** Who is signed in, how many tokens the session has used, the stream's position and who holds it. */
export function SessionMeta({
  session,
  tokensIssued,
  lastEventId,
  shareRole,
}: {
  session: DemoSession;
  tokensIssued: number;
  lastEventId: string | undefined;
  shareRole: SseShareRole;
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
      <span>
        Stream:{' '}
        <strong data-testid="share-role" data-share-role={shareRole}>
          {SHARE_ROLE_TEXT[shareRole]}
        </strong>
      </span>
    </div>
  );
}
