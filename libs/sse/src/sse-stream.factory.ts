import { Inject, Injectable, Logger } from '@nestjs/common';
import { Observable, type Observer, type Subscriber, type Subscription } from 'rxjs';
import type { SseHistoryStore, SseReplayResult } from './history/sse-history-store.interface.js';
import {
  HEARTBEAT_COMMENT,
  MAX_LAST_EVENT_ID_LENGTH,
  SSE_EVENT_TYPES,
  SSE_RESET_REASONS,
  type SseResetReason,
} from './sse.constants.js';
import { type SseConnection, SseConnectionRegistry } from './sse-connection.registry.js';
import { compareEventIds, formatEventId, parseEventId, SseEventIdGenerator } from './sse-event-id.js';
import type { SseFrame } from './sse-event.js';
import { SseExpiryScheduler } from './sse-expiry.scheduler.js';
import { HEARTBEAT_TICK } from './sse-heartbeat.js';
import type { ResolvedSseOptions } from './sse-options.interface.js';
import type { SseUser } from './sse-user.js';
import { SSE_HISTORY_STORE, SSE_OPTIONS } from './sse.tokens.js';

export interface SseStreamContext {
  /** What the client resumes from: the `Last-Event-ID` header, else the `lastEventId` query parameter. */
  lastEventId?: string;
}

const HEARTBEAT_COMMENT_FRAME: SseFrame = { comment: HEARTBEAT_COMMENT };

/** Where a new stream starts: after the client's id (with what it missed), or at the present. */
type StartPoint =
  | { kind: 'fresh' }
  | { kind: 'resume'; from: string; frames: readonly SseFrame[] }
  | { kind: 'reset'; reason: SseResetReason };

/**
 * Builds one connection's Observable: replay of what the client missed, then its
 * live events and heartbeats, until the user's channel ends or the token
 * expires. One small object and one subscription per stream, and no timer of
 * its own, as this is the state multiplied by the number of open connections.
 */
@Injectable()
export class SseStreamFactory {
  private readonly logger = new Logger('SseStream');
  private readonly expiries = new SseExpiryScheduler<ConnectionStream>(expire);

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
    const expiresAt = this.options.closeOnTokenExpiry ? user.expiresAt : undefined;
    this.registry.assertCanOpen(userId);
    return new Observable<SseFrame>((subscriber) => {
      const { connection, events } = this.registry.open(userId);
      const stream = new ConnectionStream(subscriber, this.options.heartbeatAs, this.registry, connection, this.expiries);
      // Live events are subscribed first and held back while history is read,
      // so an event published during the reconnect is neither lost nor sent twice.
      stream.live = events.subscribe(stream);
      // Every frame held back is newer than this: a fresh or reset stream starts here.
      const subscribedAt = formatEventId(this.ids.current());
      const opening = (id: string): SseFrame => ({ retry: this.options.retryMs, comment: 'connected', id });

      const start = this.startPoint(userId, lastEventId);
      if (isPromise(start)) {
        start.then(
          (point) => stream.begin(point, opening, subscribedAt),
          (err) => {
            this.logger.error(`history replay failed: ${(err as Error)?.message ?? err}`);
            stream.begin({ kind: 'reset', reason: 'history-unavailable' }, opening, subscribedAt);
          },
        );
      } else {
        stream.begin(start, opening, subscribedAt);
      }

      // Guards run once per connection: when the token expires, say so and end the stream.
      if (expiresAt !== undefined) stream.expiry = this.expiries.schedule(stream, expiresAt);
      // The stream is its own teardown, so nothing of this function outlives the subscribe.
      return stream;
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
}

/**
 * One open stream, fed by the user's channel: as an object rather than
 * closures, since it is the state each open connection keeps (the observer's
 * methods live on the prototype).
 */
class ConnectionStream implements Observer<SseFrame> {
  /**
   * The id the client holds. Frames the server adds on its own (heartbeat
   * events, auth-expired) repeat it: an id line always moves Last-Event-ID.
   */
  lastId = '';
  /** Live frames held back until the start (replay, or a reset) is out; null after. */
  private backlog: SseFrame[] | null = [];
  live?: Subscription;
  /** The expiry bucket this stream waits in, if its token expires. */
  expiry?: number;

  constructor(
    readonly out: Subscriber<SseFrame>,
    private readonly heartbeatAs: 'comment' | 'event',
    private readonly registry: SseConnectionRegistry,
    private readonly connection: SseConnection,
    private readonly expiries: SseExpiryScheduler<ConnectionStream>,
  ) {}

  /** Teardown: leaves the user's channel and its expiry bucket, frees the slot. */
  unsubscribe(): void {
    this.live?.unsubscribe();
    if (this.expiry !== undefined) this.expiries.cancel(this, this.expiry);
    this.registry.close(this.connection);
  }

  next(frame: SseFrame): void {
    if (frame === HEARTBEAT_TICK) {
      if (this.backlog) return;
      this.out.next(
        this.heartbeatAs === 'event'
          ? { type: SSE_EVENT_TYPES.heartbeat, data: 'null', id: this.lastId }
          : HEARTBEAT_COMMENT_FRAME,
      );
    } else if (this.backlog) {
      this.backlog.push(frame);
    } else {
      this.deliver(frame);
    }
  }

  error(err: unknown): void {
    this.out.error(err);
  }

  complete(): void {
    this.out.complete();
  }

  /** Sends the opening frame and what the client missed, then lets held-back live frames through. */
  begin(start: StartPoint, opening: (id: string) => SseFrame, subscribedAt: string): void {
    if (this.out.closed || !this.backlog) return;
    if (start.kind === 'resume') {
      this.out.next(opening((this.lastId = start.from)));
      start.frames.forEach((frame) => this.deliver(frame));
    } else {
      this.out.next(opening((this.lastId = subscribedAt)));
      if (start.kind === 'reset') this.deliver(resetFrame(start.reason, subscribedAt));
    }
    const after = parseEventId(this.lastId);
    const held = this.backlog;
    this.backlog = null;
    for (const frame of held) {
      const id = frame.id === undefined ? undefined : parseEventId(frame.id);
      if (!id || !after || compareEventIds(id, after) > 0) this.deliver(frame);
    }
  }

  private deliver(frame: SseFrame): void {
    if (frame.id !== undefined) this.lastId = frame.id;
    this.out.next(frame);
  }
}

function expire(stream: ConnectionStream): void {
  stream.out.next(authExpiredFrame(stream.lastId));
  stream.out.complete();
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
