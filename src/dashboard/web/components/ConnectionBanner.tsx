import type { SseStatus } from '@nest-sse/client/react';

/** Reconnecting, recovered or gave up: nothing while the first connection is open. */
export function ConnectionBanner({
  status,
  recoveries,
  resumedAfter,
  lastEventId,
  errorMessage,
}: {
  status: SseStatus;
  recoveries: number;
  resumedAfter: string | undefined;
  lastEventId: string | undefined;
  errorMessage: string | undefined;
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
