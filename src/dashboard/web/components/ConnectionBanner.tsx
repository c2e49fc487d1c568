import type { SseStatus } from '@nest-sse/client/react';

/** Reconnecting, recovered, gave up or signed out: nothing while the first connection is open. */
export function ConnectionBanner({
  status,
  recoveries,
  resumedAfter,
  lastEventId,
  errorMessage,
  reason,
}: {
  status: SseStatus;
  recoveries: number;
  resumedAfter: string | undefined;
  lastEventId: string | undefined;
  errorMessage: string | undefined;
  /** With `unauthorized`: the server's category of the refusal (`expired`, `revoked`...). */
  reason?: string | undefined;
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
  if (status === 'unauthorized') {
    return (
      <div className="banner banner-error" data-testid="unauthorized" role="alert">
        <strong>Signed out.</strong> The server refused the session&apos;s tokens{reason ? ` (${reason})` : ''}: press
        Disconnect, then Connect again.
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
