import { Inject, Injectable, Logger, type MessageEvent } from '@nestjs/common';
import { defer, type Observable } from 'rxjs';
import type { SseHistoryStore } from './history/sse-history-store.interface.js';
import { SseConnectionRegistry } from './sse-connection.registry.js';
import { formatEventId, SseEventIdGenerator } from './sse-event-id.js';
import { assertUserId, SseEventError, toFrame, type SseEvent, type SseFrame } from './sse-event.js';
import { SseStreamFactory } from './sse-stream.factory.js';
import { SSE_HISTORY_STORE } from './sse.tokens.js';

/**
 * The publishing API. Every method validates the event at the call site (an
 * unsafe type or unserialisable data throws `SseEventError` and nothing is
 * sent), gives it the next ordered id, records it in history for replay,
 * serialises it once, and returns the number of open streams it was handed to.
 */
@Injectable()
export class SseService {
  private readonly logger = new Logger('SseService');

  constructor(
    private readonly registry: SseConnectionRegistry,
    private readonly ids: SseEventIdGenerator,
    @Inject(SSE_HISTORY_STORE) private readonly history: SseHistoryStore | null,
    private readonly streams: SseStreamFactory,
  ) {}

  /**
   * A user's stream as an Observable, for your own `@Sse()` handler (your own
   * route and auth): the same replay, heartbeat and limit as the module's route.
   * The slot is taken on subscribe; over the limit it errors with
   * `SseConnectionLimitError`, an HttpException that answers 429.
   */
  stream(userId: string, options: { lastEventId?: string; expiresAt?: number } = {}): Observable<MessageEvent> {
    assertUserId(userId);
    return defer(() =>
      this.streams.open({ userId, claims: {}, expiresAt: options.expiresAt }, { lastEventId: options.lastEventId }),
    );
  }

  sendToUser(userId: string, event: SseEvent): number {
    assertUserId(userId);
    const frame = this.record(event, [userId]);
    return this.registry.publishToUser(userId, frame);
  }

  sendToUsers(userIds: Iterable<string>, event: SseEvent): number {
    const unique = [...new Set(userIds)];
    unique.forEach((userId) => assertUserId(userId));
    const frame = this.record(event, unique);
    let delivered = 0;
    for (const userId of unique) delivered += this.registry.publishToUser(userId, frame);
    return delivered;
  }

  broadcast(event: SseEvent): number {
    return this.registry.publishToAll(this.record(event, undefined));
  }

  /** Ends every open stream of the user (their EventSource will try to reconnect). */
  disconnectUser(userId: string): number {
    assertUserId(userId);
    return this.registry.disconnectUser(userId);
  }

  /** Open streams: of one user, or of everyone. */
  connectionCount(userId?: string): number {
    if (userId !== undefined) assertUserId(userId);
    return this.registry.connectionCount(userId);
  }

  /** Users with at least one open stream. */
  connectedUserCount(): number {
    return this.registry.connectedUserIds().length;
  }

  isConnected(userId: string): boolean {
    return this.connectionCount(userId) > 0;
  }

  /** Validates, assigns the id and appends to history, before any stream sees the frame. */
  private record(event: SseEvent, userIds: string[] | undefined): SseFrame {
    if (this.history && event?.id !== undefined) {
      throw new SseEventError(
        'SSE event ids are assigned by the server (they order replay); put domain ids in data, or disable history',
      );
    }
    const id = this.ids.next();
    const frame = toFrame(event, formatEventId(id));
    if (this.history) {
      try {
        const pending = this.history.append({ id, userIds, frame, at: Date.now() });
        if (pending) pending.catch((err) => this.logHistoryError(err));
      } catch (err) {
        this.logHistoryError(err);
      }
    }
    return frame;
  }

  private logHistoryError(err: unknown): void {
    // Live delivery goes on; a client resuming over the gap will get a reset.
    this.logger.error(`history append failed: ${(err as Error)?.message ?? err}`);
  }
}

export { SseEventError };
