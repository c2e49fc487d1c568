import { SseFrame } from '../wire/sse-frame.js';

/** Why the server ended a stream itself, said in the comment of its last frame. */
export const SSE_RETRY_REASONS = {
  shutdown: 'server shutting down: reconnect later',
  capacity: 'server at capacity: reconnect later',
} as const;
export type SseRetryReason = keyof typeof SSE_RETRY_REASONS;

/**
 * The reconnection delay given to clients the server turns away or ends
 * together (at shutdown, past `maxConnections`): `retryMs` plus a random integer
 * from 0 to `retryJitterMs`, drawn for each client, so that thousands of them do
 * not come back in the same millisecond.
 */
export class SseRetryHint {
  constructor(
    private readonly retryMs: number,
    private readonly jitterMs: number,
  ) {}

  /** A fresh draw, in ms: within [retryMs, retryMs + retryJitterMs]. */
  delayMs(): number {
    return this.retryMs + Math.floor(Math.random() * (this.jitterMs + 1));
  }

  /** A 503's `Retry-After`: a fresh draw in whole seconds, rounded up. */
  retryAfterSec(): number {
    return Math.ceil(this.delayMs() / 1000);
  }

  /**
   * The last frame of a stream the server ends: `retry:` and a comment saying why.
   * No `id:` line, so the client keeps its Last-Event-ID and resumes where it was.
   */
  frame(reason: SseRetryReason): SseFrame {
    return new SseFrame({ retry: this.delayMs(), comment: SSE_RETRY_REASONS[reason] });
  }
}
