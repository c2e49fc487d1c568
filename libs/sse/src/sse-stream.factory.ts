import { Inject, Injectable } from '@nestjs/common';
import { EMPTY, endWith, map, merge, Observable, takeWhile, tap, timer } from 'rxjs';
import { HEARTBEAT_COMMENT, SSE_EVENT_TYPES } from './sse.constants.js';
import { SseConnectionRegistry } from './sse-connection.registry.js';
import type { SseFrame } from './sse-event.js';
import { SseHeartbeat } from './sse-heartbeat.js';
import type { ResolvedSseOptions } from './sse-options.interface.js';
import type { SseUser } from './sse-user.js';
import { SSE_OPTIONS } from './sse.tokens.js';

export interface SseStreamContext {
  /**
   * Registers a callback for the end of the request. Needed besides the
   * Observable's teardown: a client that leaves before Nest subscribes
   * would otherwise keep its slot.
   */
  onRequestClosed?: (callback: () => void) => void;
  /** A well-formed `Last-Event-ID` the client sent, if any. */
  lastEventId?: string;
}

/** Longest delay a Node timer can wait; longer ones fire at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
const END_OF_STREAM: SseFrame = Object.freeze({ comment: 'end' });
const HEARTBEAT_COMMENT_FRAME: SseFrame = Object.freeze({ comment: HEARTBEAT_COMMENT });

/**
 * Builds one connection's Observable: the user's live events, merged with the
 * shared heartbeat and the token-expiry timer. It is registered before the first
 * byte (so the limit can answer 429) and released on every way a stream can end.
 */
@Injectable()
export class SseStreamFactory {
  constructor(
    private readonly registry: SseConnectionRegistry,
    private readonly heartbeat: SseHeartbeat,
    @Inject(SSE_OPTIONS) private readonly options: ResolvedSseOptions,
  ) {}

  /**
   * Throws `SseConnectionLimitError` when the user has no free slot.
   */
  open(user: SseUser, { onRequestClosed, lastEventId }: SseStreamContext = {}): Observable<SseFrame> {
    const { connection, events } = this.registry.open(user.userId);
    const release = () => this.registry.close(connection);
    onRequestClosed?.(release);

    // The last id this stream delivered: frames the server adds on its own
    // (retry, heartbeat events) repeat it, so they never move the client's Last-Event-ID.
    let lastId = lastEventId ?? '';
    const opening: SseFrame = { retry: this.options.retryMs, id: lastId, comment: 'connected' };
    const live = events.pipe(
      tap((frame) => {
        if (frame.id !== undefined) lastId = frame.id;
      }),
      endWith(END_OF_STREAM),
    );
    const heartbeats =
      this.options.heartbeatAs === 'event'
        ? this.heartbeat.ticks$.pipe(
            map((): SseFrame => ({ type: SSE_EVENT_TYPES.heartbeat, data: 'null', id: lastId })),
          )
        : this.heartbeat.ticks$.pipe(map(() => HEARTBEAT_COMMENT_FRAME));

    return merge(live, heartbeats, this.expiry(user, () => lastId)).pipe(
      // The stream ends when the user's channel completes (disconnectUser, shutdown)...
      takeWhile((frame) => frame !== END_OF_STREAM),
      // ...or right after telling the client its token expired.
      takeWhile((frame) => frame.type !== SSE_EVENT_TYPES.authExpired, true),
      (source) =>
        new Observable<SseFrame>((subscriber) => {
          subscriber.next(opening);
          const subscription = source.subscribe(subscriber);
          return () => {
            subscription.unsubscribe();
            release();
          };
        }),
    );
  }

  private expiry(user: SseUser, lastId: () => string): Observable<SseFrame> {
    if (!this.options.closeOnTokenExpiry || user.expiresAt === undefined) return EMPTY;
    const delay = Math.max(0, user.expiresAt - Date.now());
    if (delay > MAX_TIMER_DELAY_MS) return EMPTY;
    return timer(delay).pipe(
      map(
        (): SseFrame => ({
          type: SSE_EVENT_TYPES.authExpired,
          data: JSON.stringify({ reason: 'token expired' }),
          id: lastId(),
        }),
      ),
    );
  }
}
