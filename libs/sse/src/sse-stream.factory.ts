import { Inject, Injectable, Logger } from '@nestjs/common';
import { Observable } from 'rxjs';
import type { SseHistoryStore, SseReplayResult } from './history/sse-history-store.interface.js';
import {
  HEARTBEAT_COMMENT,
  MAX_LAST_EVENT_ID_LENGTH,
  SSE_EVENT_TYPES,
  SSE_RESET_REASONS,
  type SseResetReason,
} from './sse.constants.js';
import { SseConnectionRegistry } from './sse-connection.registry.js';
import { compareEventIds, formatEventId, parseEventId, SseEventIdGenerator } from './sse-event-id.js';
import type { SseFrame } from './sse-event.js';
import { HEARTBEAT_TICK } from './sse-heartbeat.js';
import type { ResolvedSseOptions } from './sse-options.interface.js';
import type { SseUser } from './sse-user.js';
import { SSE_HISTORY_STORE, SSE_OPTIONS } from './sse.tokens.js';

export interface SseStreamContext {
  /** What the client resumes from: the `Last-Event-ID` header, else the `lastEventId` query parameter. */
  lastEventId?: string;
}

/** Longest delay a Node timer can wait; longer ones fire at once. */
const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;
const HEARTBEAT_COMMENT_FRAME: SseFrame = { comment: HEARTBEAT_COMMENT };

/** Where a new stream starts: after the client's id (with what it missed), or at the present. */
type StartPoint =
  | { kind: 'fresh' }
  | { kind: 'resume'; from: string; frames: readonly SseFrame[] }
  | { kind: 'reset'; reason: SseResetReason };

/**
 * Builds one connection's Observable: replay of what the client missed, then its
 * live events and heartbeats, until the user's channel ends or the token
 * expires. One subscriber and at most one timer per stream, as this is the
 * state that is multiplied by the number of open connections.
 */
@Injectable()
export class SseStreamFactory {
  private readonly logger = new Logger('SseStream');

  constructor(
    private readonly registry: SseConnectionRegistry,
    private readonly ids: SseEventIdGenerator,
    @Inject(SSE_HISTORY_STORE) private readonly history: SseHistoryStore | null,
    @Inject(SSE_OPTIONS) private readonly options: ResolvedSseOptions,
  ) {}

  /**
   * Throws `SseConnectionLimitError` at once when the user has no free slot, so
   * the route can answer 429 before any byte. The slot itself is taken on
   * subscribe and released on teardown: an Observable nobody subscribes holds nothing.
   */
  open(user: SseUser, { lastEventId }: SseStreamContext = {}): Observable<SseFrame> {
    // Only these two are kept for the stream's lifetime, not the token's claims.
    const { userId } = user;
    const expiresIn = this.expiresIn(user);
    this.registry.assertCanOpen(userId);
    return new Observable<SseFrame>((subscriber) => {
      const { connection, events } = this.registry.open(userId);
      // The id the client holds. Frames the server adds on its own (heartbeat
      // events, auth-expired) repeat it: an id line always moves Last-Event-ID.
      let lastId = '';
      // Live events are subscribed first and held back while history is read,
      // so an event published during the reconnect is neither lost nor sent twice.
      let backlog: SseFrame[] | null = [];
      const deliver = (frame: SseFrame) => {
        if (frame.id !== undefined) lastId = frame.id;
        subscriber.next(frame);
      };
      const live = events.subscribe({
        next: (frame) => {
          if (frame === HEARTBEAT_TICK) {
            if (!backlog) subscriber.next(this.heartbeatFrame(lastId));
          } else if (backlog) {
            backlog.push(frame);
          } else {
            deliver(frame);
          }
        },
        complete: () => subscriber.complete(),
      });
      // Every frame in the backlog is newer than this: a fresh or reset stream starts here.
      const subscribedAt = formatEventId(this.ids.current());

      const begin = (start: StartPoint) => {
        if (subscriber.closed || !backlog) return;
        const opening: SseFrame = { retry: this.options.retryMs, comment: 'connected' };
        if (start.kind === 'resume') {
          subscriber.next({ ...opening, id: (lastId = start.from) });
          start.frames.forEach(deliver);
        } else {
          subscriber.next({ ...opening, id: (lastId = subscribedAt) });
          if (start.kind === 'reset') deliver(resetFrame(start.reason, subscribedAt));
        }
        const after = parseEventId(lastId);
        const held = backlog;
        backlog = null;
        for (const frame of held) {
          const id = frame.id === undefined ? undefined : parseEventId(frame.id);
          if (!id || !after || compareEventIds(id, after) > 0) deliver(frame);
        }
      };
      const start = this.startPoint(userId, lastEventId);
      if (isPromise(start)) {
        start.then(begin, (err) => {
          this.logger.error(`history replay failed: ${(err as Error)?.message ?? err}`);
          begin({ kind: 'reset', reason: 'history-unavailable' });
        });
      } else {
        begin(start);
      }

      // Guards run once per connection: when the token expires, say so and end the stream.
      const expiry =
        expiresIn === undefined
          ? undefined
          : setTimeout(() => {
              subscriber.next(authExpiredFrame(lastId));
              subscriber.complete();
            }, expiresIn);

      return () => {
        live.unsubscribe();
        clearTimeout(expiry);
        this.registry.close(connection);
      };
    });
  }

  /** Decides how to start from the client's Last-Event-ID; may wait on an async store. */
  private startPoint(userId: string, lastEventId: string | undefined): StartPoint | Promise<StartPoint> {
    if (lastEventId === undefined || lastEventId === '') return { kind: 'fresh' };
    const after = lastEventId.length <= MAX_LAST_EVENT_ID_LENGTH ? parseEventId(lastEventId) : undefined;
    if (!after) return { kind: 'reset', reason: 'malformed-id' };
    if (!this.history) return { kind: 'reset', reason: 'history-disabled' };
    // Ids outside what this run issued: history cannot say what came after them.
    if (compareEventIds(after, this.ids.epoch) < 0 || compareEventIds(after, this.ids.current()) > 0) {
      return { kind: 'reset', reason: 'unknown-id' };
    }
    const toStart = (result: SseReplayResult): StartPoint =>
      result.ok ? { kind: 'resume', from: lastEventId, frames: result.frames } : { kind: 'reset', reason: result.reason };
    const result = this.history.replay(userId, after);
    return isPromise(result) ? result.then(toStart) : toStart(result);
  }

  private heartbeatFrame(lastId: string): SseFrame {
    return this.options.heartbeatAs === 'event'
      ? { type: SSE_EVENT_TYPES.heartbeat, data: 'null', id: lastId }
      : HEARTBEAT_COMMENT_FRAME;
  }

  private expiresIn(user: SseUser): number | undefined {
    if (!this.options.closeOnTokenExpiry || user.expiresAt === undefined) return undefined;
    const delay = Math.max(0, user.expiresAt - Date.now());
    return delay > MAX_TIMER_DELAY_MS ? undefined : delay;
  }
}

function authExpiredFrame(lastId: string): SseFrame {
  return { type: SSE_EVENT_TYPES.authExpired, data: JSON.stringify({ reason: 'token expired' }), id: lastId };
}

function resetFrame(reason: SseResetReason, id: string): SseFrame {
  return { type: SSE_EVENT_TYPES.reset, data: JSON.stringify({ reason, message: SSE_RESET_REASONS[reason] }), id };
}

function isPromise<T>(value: T | Promise<T>): value is Promise<T> {
  return typeof (value as Promise<T>)?.then === 'function';
}
