import { BeforeApplicationShutdown, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { SseFrame } from './sse-event.js';
import { HEARTBEAT_TICK, SseHeartbeatTimer } from './sse-heartbeat.js';
import type { ResolvedSseOptions } from './sse-options.interface.js';
import { SSE_OPTIONS } from './sse.tokens.js';

/** A user's live events, shared by all of that user's open streams. */
interface UserChannel {
  readonly subject: Subject<SseFrame>;
  /** Open streams on this channel (a count, not a set: this is kept per connected user). */
  open: number;
  /** Set once the channel is gone (last stream closed, or the user disconnected). */
  ended: boolean;
}

/** One open stream of one user: a handle for `close()`. */
export interface SseConnection {
  readonly userId: string;
  readonly channel: UserChannel;
  closed: boolean;
}

/**
 * Thrown when a user already has `maxConnectionsPerUser` open streams. An
 * HttpException, so any route (the module's, or your own `@Sse()` handler)
 * answers 429 with a JSON body before any stream byte.
 */
export class SseConnectionLimitError extends HttpException {
  constructor(readonly limit: number) {
    const message = `Connection limit reached: at most ${limit} concurrent event streams per user`;
    super({ statusCode: 429, error: 'Too Many Requests', message, limit }, HttpStatus.TOO_MANY_REQUESTS);
  }
}

/**
 * Users to their open connections: one Subject per user, so a targeted send is
 * one Map lookup and one `next()`, whatever the number of other users.
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
  assertCanOpen(userId: string): void {
    if ((this.users.get(userId)?.open ?? 0) >= this.options.maxConnectionsPerUser) {
      throw new SseConnectionLimitError(this.options.maxConnectionsPerUser);
    }
  }

  /** Registers a stream, or throws `SseConnectionLimitError` before anything is sent. */
  open(userId: string): { connection: SseConnection; events: Observable<SseFrame> } {
    this.assertCanOpen(userId);
    let channel = this.users.get(userId);
    if (!channel) {
      channel = { subject: new Subject<SseFrame>(), open: 0, ended: false };
      this.users.set(userId, channel);
    }
    const connection: SseConnection = { userId, channel, closed: false };
    channel.open++;
    this.connections++;
    this.heartbeat.update(this.connections);
    return { connection, events: channel.subject.asObservable() };
  }

  /** Idempotent; a stream of a channel that `disconnectUser` ended was counted out already. */
  close(connection: SseConnection): void {
    if (connection.closed) return;
    connection.closed = true;
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

  publishToAll(frame: SseFrame): number {
    for (const channel of this.users.values()) channel.subject.next(frame);
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

  disconnectAll(): void {
    for (const userId of [...this.users.keys()]) this.disconnectUser(userId);
  }

  connectionCount(userId?: string): number {
    if (userId === undefined) return this.connections;
    return this.users.get(userId)?.open ?? 0;
  }

  connectedUserIds(): string[] {
    return [...this.users.keys()];
  }

  /** Streams must end before the HTTP server closes, or `app.close()` would wait on them. */
  beforeApplicationShutdown(): void {
    this.disconnectAll();
  }
}
