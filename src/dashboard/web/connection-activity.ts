import type { SseStatus, SseStatusReason } from '@nest-sse/client/react';

import type { ActivityKind } from './hooks/useActivityLog.js';

export interface StatusChange {
  status: SseStatus;
  previous: SseStatus;
  reason: SseStatusReason;
  /** The last event id seen before this change. */
  lastSeen: string | undefined;
  /** The stored id the session started from, if any. */
  resumeFrom: string | undefined;
}

/** What the activity log says about a status change; `undefined` when it says nothing. */
export function statusActivity(change: StatusChange): { kind: ActivityKind; text: string } | undefined {
  const { status, previous, reason } = change;
  if (status === 'open' && previous === 'reconnecting') {
    return { kind: 'recovered', text: `Recovered: resumed after event ${change.lastSeen ?? '(none yet)'}.` };
  }
  if (status === 'open') {
    const text = change.resumeFrom ? `Connected, resuming after event ${change.resumeFrom}.` : 'Connected.';
    return { kind: 'connected', text };
  }
  // A token renewal is not a lost connection: onAuthExpired logs it.
  if (status === 'reconnecting' && previous === 'open' && reason !== 'auth-expired') {
    return { kind: 'lost', text: 'Connection lost: reconnecting…' };
  }
  if (status === 'error') return { kind: 'error', text: 'Gave up reconnecting.' };
  return undefined;
}
