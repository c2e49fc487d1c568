import { BeforeApplicationShutdown, HttpException, HttpStatus, Inject, Injectable } from '@nestjs/common';
import { Observable, Subject } from 'rxjs';
import type { SseFrame } from './sse-event.js';
import { HEARTBEAT_TICK, SseHeartbeatTimer } from './sse-heartbeat.js';
import type { ResolvedSseOptions } from './sse-options.interface.js';
import { SSE_OPTIONS } from './sse.tokens.js';

/** One open stream of one user. */
export interface SseConnection {
  readonly id: number;
  readonly userId: string;
  readonly openedAt: number;
}

/** A user's live events, shared by all of that user's open streams. */
interface UserChannel {
  readonly subject: Subject<SseFrame>;
  readonly connections: Set<SseConnection>;
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
  private nextConnectionId = 1;
  private connections = 0;

  private readonly heartbeat: SseHeartbeatTimer;

  constructor(@Inject(SSE_OPTIONS) private readonly options: ResolvedSseOptions) {
    this.heartbeat = new SseHeartbeatTimer(options.heartbeatIntervalMs, () => this.publishToAll(HEARTBEAT_TICK));
  }

  /** Throws `SseConnectionLimitError` if the user has no free slot. */
  assertCanOpen(userId: string): void {
    if ((this.users.get(userId)?.connections.size ?? 0) >= this.options.maxConnectionsPerUser) {
      throw new SseConnectionLimitError(this.options.maxConnectionsPerUser);
    }
  }

  /** Registers a stream, or throws `SseConnectionLimitError` before anything is sent. */
  open(userId: string): { connection: SseConnection; events: Observable<SseFrame> } {
    this.assertCanOpen(userId);
    let channel = this.users.get(userId);
    if (!channel) {
      channel = { subject: new Subject<SseFrame>(), connections: new Set() };
      this.users.set(userId, channel);
    }
    const connection: SseConnection = { id: this.nextConnectionId++, userId, openedAt: Date.now() };
    channel.connections.add(connection);
    this.connections++;
    this.heartbeat.update(this.connections);
    return { connection, events: channel.subject.asObservable() };
  }

  /** Idempotent: called from both the stream's teardown and the request's abort signal. */
  close(connection: SseConnection): void {
    const channel = this.users.get(connection.userId);
    if (!channel || !channel.connections.delete(connection)) return;
    this.connections--;
    this.heartbeat.update(this.connections);
    if (channel.connections.size === 0) {
      this.users.delete(connection.userId);
      channel.subject.complete();
    }
  }

  /** Returns the number of streams the frame was handed to. */
  publishToUser(userId: string, frame: SseFrame): number {
    const channel = this.users.get(userId);
    if (!channel) return 0;
    channel.subject.next(frame);
    return channel.connections.size;
  }

  publishToAll(frame: SseFrame): number {
    for (const channel of this.users.values()) channel.subject.next(frame);
    return this.connections;
  }

  /** Ends every open stream of a user; returns how many were open. */
  disconnectUser(userId: string): number {
    const channel = this.users.get(userId);
    if (!channel) return 0;
    const count = channel.connections.size;
    this.users.delete(userId);
    this.connections -= count;
    this.heartbeat.update(this.connections);
    channel.connections.clear();
    channel.subject.complete();
    return count;
  }

  disconnectAll(): void {
    for (const userId of [...this.users.keys()]) this.disconnectUser(userId);
  }

  connectionCount(userId?: string): number {
    if (userId === undefined) return this.connections;
    return this.users.get(userId)?.connections.size ?? 0;
  }

  connectedUserIds(): string[] {
    return [...this.users.keys()];
  }

  /** Streams must end before the HTTP server closes, or `app.close()` would wait on them. */
  beforeApplicationShutdown(): void {
    this.disconnectAll();
  }
}
