import { compareEventIds, parseEventId, SSE_EVENT_TYPES, type SseResetReason } from '@nest-sse/protocol';
import type { Subscriber } from 'rxjs';

import { wasDroppedAsSlowClient } from '../http/sse-response.sink.js';
import type { SseLifecycleHub } from '../observe/sse-lifecycle.hub.js';
import type { SseDisconnectReason, SseStatsCollector } from '../observe/sse-stats.collector.js';
import type { SsePresenceSlot } from '../transport/sse-transport.interface.js';
import { resetFrame, SseFrame } from '../wire/sse-frame.js';
import {
  SHUTDOWN_NOTICE,
  type SseChannelMember,
  type SseChannelMessage,
  type SseConnection,
  type SseConnectionRegistry,
} from './sse-connection.registry.js';
import type { SseExpiryScheduler } from './sse-expiry.scheduler.js';
import { HEARTBEAT_TICK } from './sse-heartbeat.timer.js';

/** Where a new stream starts: after the client's id (with what it missed), or at the present. */
export type SseStartPoint =
  | { kind: 'fresh' }
  | { kind: 'resume'; from: string; frames: readonly SseFrame[] }
  | { kind: 'reset'; reason: SseResetReason };

const HEARTBEAT_COMMENT = new SseFrame({ comment: 'heartbeat' });

/**
 * Relays a user's channel to one stream's subscriber: holds live frames back
 * until the start (replay or reset) is out, turns heartbeat ticks into frames,
 * and is the stream's teardown. An object with its methods on the prototype,
 * not closures, as it is what each open stream keeps (see docs/design.md).
 */
export class SseStreamRelay implements SseChannelMember {
  /**
   * The id the client holds. Frames the server adds on its own (heartbeat
   * events, auth-expired) repeat it: an id line always moves Last-Event-ID.
   */
  lastId = '';
  /** Live frames held back until the start is out; null after. */
  private backlog: SseFrame[] | null = [];
  /** Its slot in the user's channel, once joined. */
  connection?: SseConnection;
  /** The expiry bucket this stream waits in, if its token expires. */
  expiry?: number;
  /** The token expired before the stream started. */
  private expired = false;
  /** Why the server ended the stream, when it did; otherwise the client left (or was dropped). */
  private endedBecause?: SseDisconnectReason;

  constructor(
    readonly out: Subscriber<SseFrame>,
    private readonly heartbeatAs: 'comment' | 'event',
    private readonly services: SseRelayServices,
    /** Its cluster-wide slot, if the transport keeps presence. */
    private readonly slot?: SsePresenceSlot,
    /** Node's request, when the route gave it: tells a client the sink dropped for not reading from one that left. */
    private readonly incoming?: object,
    /**
     * One client holds it for several subscribers (`?shared=1`): it writes topic events'
     * `tagged` variant, and its opening as a `connected` event.
     */
    private readonly shared = false,
  ) {}

  /** Teardown: leaves the user's channel and its expiry bucket, frees the slot, says why it ended. */
  unsubscribe(): void {
    const { registry, expiries, stats, lifecycle } = this.services;
    if (this.expiry !== undefined) expiries.cancel(this, this.expiry);
    this.slot?.release();
    const connection = this.connection;
    if (!connection) return;
    const reason =
      this.endedBecause ?? (this.incoming && wasDroppedAsSlowClient(this.incoming) ? 'slow_client' : 'client_left');
    stats.disconnects[reason]++;
    lifecycle.disconnected({ userId: connection.userId, topics: connection.topics }, reason);
    registry.leave(connection);
  }

  next(message: SseChannelMessage): void {
    if (message === HEARTBEAT_TICK) {
      if (!this.backlog) this.write(this.heartbeat());
    } else if (message === SHUTDOWN_NOTICE) {
      // Each stream draws its own delay; no id line, so the client resumes where it was.
      this.endedBecause = 'shutdown';
      this.write(this.services.registry.retryHintFrame('shutdown'));
      this.out.complete();
    } else if (this.backlog) {
      this.backlog.push(message);
    } else {
      this.deliver(message);
    }
  }

  /** The channel ended: the user was disconnected (`disconnectUser`), or shutdown ended what ignored its notice. */
  complete(): void {
    this.endedBecause ??= this.services.registry.isShuttingDown() ? 'shutdown' : 'disconnect_user';
    this.out.complete();
  }

  /** Sends the opening frame and what the client missed, then lets held-back live frames through. */
  begin(start: SseStartPoint, retryMs: number, subscribedAt: string): void {
    if (this.out.closed || !this.backlog) return;
    this.lastId = start.kind === 'resume' ? start.from : subscribedAt;
    this.write(openingFrame(retryMs, this.lastId, this.shared));
    const { stats } = this.services;
    if (start.kind === 'resume') {
      stats.eventsReplayed += start.frames.length;
      start.frames.forEach((frame) => this.deliver(frame));
    }
    if (start.kind === 'reset') {
      stats.resets[start.reason]++;
      this.deliver(resetFrame(start.reason, subscribedAt));
    }
    const after = parseEventId(this.lastId);
    const held = this.backlog;
    this.backlog = null;
    for (const frame of held) {
      const id = frame.id === undefined ? undefined : parseEventId(frame.id);
      if (!id || !after || compareEventIds(id, after) > 0) this.deliver(frame);
    }
    if (this.expired) this.expire();
  }

  /** The token expired: says so and ends the stream (guards ran only when it opened). */
  expire(): void {
    // Not started yet (history still being read): the stream has no position to repeat. It
    // expires once its opening is out, so no frame ever carries an empty id (which clears Last-Event-ID).
    if (this.backlog) {
      this.expired = true;
      return;
    }
    this.endedBecause = 'token_expired';
    this.write(
      new SseFrame({ type: SSE_EVENT_TYPES.authExpired, data: '{"reason":"token expired"}', id: this.lastId }),
    );
    this.out.complete();
  }

  private heartbeat(): SseFrame {
    return this.heartbeatAs === 'event'
      ? new SseFrame({ type: SSE_EVENT_TYPES.heartbeat, data: 'null', id: this.lastId })
      : HEARTBEAT_COMMENT;
  }

  /** A published event (live, held back or replayed), or a reset. */
  private deliver(frame: SseFrame): void {
    if (frame.id !== undefined) this.lastId = frame.id;
    this.write(this.shared ? frame.tagged : frame);
  }

  private write(frame: SseFrame): void {
    this.services.stats.framesWritten++;
    this.out.next(frame);
  }
}

/** What every relay of a module uses: one object, so a stream holds one reference, not four. */
export interface SseRelayServices {
  readonly registry: SseConnectionRegistry;
  readonly expiries: SseExpiryScheduler<SseStreamRelay>;
  readonly stats: SseStatsCollector;
  readonly lifecycle: SseLifecycleHub;
}

/**
 * The first frame of a stream: the retry delay and where the stream starts. A shared
 * stream's is also a `connected` event (data `null`), so that its client, which an
 * EventSource tells nothing of a frame without data, can read that id.
 */
function openingFrame(retry: number, id: string, shared: boolean): SseFrame {
  return shared
    ? new SseFrame({ type: SSE_EVENT_TYPES.connected, retry, comment: 'connected', id, data: 'null' })
    : new SseFrame({ retry, comment: 'connected', id });
}
