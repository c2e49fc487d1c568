import { BeforeApplicationShutdown, Inject, Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import { SseConnectionLimitError } from './sse.exceptions.js';
import type { SseFrame } from './sse-frame.js';
import { HEARTBEAT_TICK, type HeartbeatTick, SseHeartbeatTimer } from './sse-heartbeat.timer.js';
import type { ResolvedSseOptions } from './sse-options.resolver.js';
import { SSE_OPTIONS } from './sse.tokens.js';

/** What a user's channel carries: published frames, and the module's heartbeat ticks. */
export type SseChannelMessage = SseFrame | HeartbeatTick;

/** A user's live messages, shared by all of that user's open streams. */
interface UserChannel {
  readonly subject: Subject<SseChannelMessage>;
  /** Open streams on this channel. */
  open: number;
  /** Set once the channel is gone (last stream left, or the user was disconnected). */
  ended: boolean;
}

/** One open stream's place in its user's channel: the handle for `leave()`. */
export interface SseConnection {
  readonly userId: string;
  readonly channel: UserChannel;
  left: boolean;
}

/**
 * Users to their open streams: one Subject per user, so a targeted send is one
 * Map lookup and one `next()`, whatever the number of other users. Enforces the
 * per-user limit and ends every stream at shutdown.
 */
@Injectable()
export class SseConnectionRegistry implements BeforeApplicationShutdown {
  private readonly users = new Map<string, UserChannel>();
  private connections = 0;
  private readonly heartbeat: SseHeartbeatTimer;

  constructor(@Inject(SSE_OPTIONS) private readonly options: ResolvedSseOptions) {
    this.heartbeat = new SseHeartbeatTimer(options.heartbeatIntervalMs, () => this.publishToAll(HEARTBEAT_TICK));
  }

  /** Throws `SseConnectionLimitError` if the user has no free slot. */
  assertFreeSlot(userId: string): void {
    if ((this.users.get(userId)?.open ?? 0) >= this.options.maxConnectionsPerUser) {
      throw new SseConnectionLimitError(this.options.maxConnectionsPerUser);
    }
  }

  /** Takes a slot in the user's channel (or throws `SseConnectionLimitError`) and returns its messages. */
  join(userId: string): { connection: SseConnection; messages: Observable<SseChannelMessage> } {
    this.assertFreeSlot(userId);
    let channel = this.users.get(userId);
    if (!channel) {
      channel = { subject: new Subject<SseChannelMessage>(), open: 0, ended: false };
      this.users.set(userId, channel);
    }
    const connection: SseConnection = { userId, channel, left: false };
    channel.open++;
    this.connections++;
    this.heartbeat.update(this.connections);
    return { connection, messages: channel.subject.asObservable() };
  }

  /** Frees the slot; idempotent. A stream of a channel `disconnectUser` ended was counted out already. */
  leave(connection: SseConnection): void {
    if (connection.left) return;
    connection.left = true;
    const { channel } = connection;
    if (channel.ended) return;
    channel.open--;
    this.connections--;
    this.heartbeat.update(this.connections);
    if (channel.open === 0) {
      channel.ended = true;
      this.users.delete(connection.userId);
      channel.subject.complete();
    }
  }

  /** Returns the number of streams the frame was handed to. */
  publishToUser(userId: string, frame: SseFrame): number {
    const channel = this.users.get(userId);
    if (!channel) return 0;
    channel.subject.next(frame);
    return channel.open;
  }

  publishToAll(message: SseChannelMessage): number {
    for (const channel of this.users.values()) channel.subject.next(message);
    return this.connections;
  }

  /** Ends every open stream of a user; returns how many were open. */
  disconnectUser(userId: string): number {
    const channel = this.users.get(userId);
    if (!channel) return 0;
    const count = channel.open;
    channel.ended = true;
    channel.open = 0;
    this.users.delete(userId);
    this.connections -= count;
    this.heartbeat.update(this.connections);
    channel.subject.complete();
    return count;
  }

  connectionCount(userId?: string): number {
    if (userId === undefined) return this.connections;
    return this.users.get(userId)?.open ?? 0;
  }

  connectedUserCount(): number {
    return this.users.size;
  }

  /** Streams must end before the HTTP server closes, or `app.close()` would wait on them. */
  beforeApplicationShutdown(): void {
    for (const userId of [...this.users.keys()]) this.disconnectUser(userId);
  }
}
