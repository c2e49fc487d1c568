import type { SseStatus } from '@nest-sse/client/react';

export function StatusBadge({ status }: { status: SseStatus }) {
  return (
    <span className={`badge status-${status}`} data-testid="status" aria-live="polite">
      {status}
    </span>
  );
}
