import type { SseStatus } from '../../../../libs/sse-client/src/react/index.js';

export function StatusBadge({ status }: { status: SseStatus }) {
  return (
    <span className={`badge status-${status}`} data-testid="status" aria-live="polite">
      {status}
    </span>
  );
}
