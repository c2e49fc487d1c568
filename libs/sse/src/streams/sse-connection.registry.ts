import type { SseResetReason } from '@nest-sse/protocol';
import {
  BeforeApplicationShutdown,
  Inject,
  Injectable,
  OnApplicationShutdown,
  OnModuleDestroy,
  OnModuleInit,
  Optional,
} from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';

import { SseLifecycleHub } from '../observe/sse-lifecycle.hub.js';
import { SseStatsCollector } from '../observe/sse-stats.collector.js';
import type { ResolvedSseOptions } from '../options/sse-options.resolver.js';
import { SseConnectionLimitError, SseShuttingDownError } from '../sse.exceptions.js';
import { SSE_OPTIONS, SSE_TRANSPORT } from '../sse.tokens.js';
import type { SseAudience, SseDeliveryTarget, SseTransport } from '../transport/sse-transport.interface.js';
import { resetFrame, type SseFrame } from '../wire/sse-frame.js';
import { HEARTBEAT_TICK, type HeartbeatTick, SseHeartbeatTimer } from './sse-heartbeat.timer.js';
import { SseRetryHint, type SseRetryReason } from './sse-retry.hint.js';

/**
 * Pushed through every channel at shutdown: each stream ends with a `retry:`
 * hint of its own drawing (see `SseRetryHint`), then completes.
 */
export const SHUTDOWN_NOTICE: unique symbol = Symbol('sse.shutdown-notice');
export type ShutdownNotice = typeof SHUTDOWN_NOTICE;

/** What a user's channel carries: published frames, the module's heartbeat ticks, the shutdown notice. */
export type SseChannelMessage = SseFrame | HeartbeatTick | ShutdownNotice;

/**
 * What a channel delivers to: one per open stream (its relay). An object with
 * two methods rather than an rxjs Subject's subscriber, since a targeted send
 * runs this once per stream and per event.
 */
export interface SseChannelMember {
  next(message: SseChannelMessage): void;
  /** The channel ended (the user was disconnected, or the server shuts down). */
  complete(): void;
}

/** A user's live messages, shared by all of that user's open streams. */
interface UserChannel {
  /** A Set, so a member may leave during a delivery loop without one being skipped. */
  readonly members: Set<SseChannelMember>;
  /** Open streams on this channel. */
  open: number;
  /** Set once the channel is gone (last stream left, or the user was disconnected). */
  ended: boolean;
}

/** A topic's subscribed streams: made with its first subscriber, dropped with its last. */
interface TopicChannel {
  readonly members: Set<SseChannelMember>;
}

/** The parts of Node's HTTP servers the hard timeout uses. */
interface HttpServerLike {
  /** HTTP/1 servers (Express, Fastify): destroys every connection. */
  closeAllConnections?: () => void;
  on?: (event: 'session', listener: (session: Http2SessionLike) => void) => unknown;
}
interface Http2SessionLike {
  destroy(): void;
  once(event: 'close', listener: () => void): unknown;
}

/** One open stream's place in its user's channel: the handle for `leave()`. */
export interface SseConnection {
  readonly userId: string;
  readonly channel: UserChannel;
  readonly member: SseChannelMember;
  /** Topics it is subscribed to (checked and authorised by the caller). */
  readonly topics: readonly string[];
  left: boolean;
}

/**
 * Users to their open streams: one channel per user, so a targeted send is one
 * Map lookup and a loop over that user's streams, whatever the number of other users. Enforces the
 * per-user limit and the global cap, and runs the streams' part of shutdown:
 * from its first hook no stream opens (503), open ones end with a jittered
 * `retry:` hint, and connections left after `shutdownTimeoutMs` are destroyed.
 */
@Injectable()
export class SseConnectionRegistry
  implements SseDeliveryTarget, OnModuleInit, OnModuleDestroy, BeforeApplicationShutdown, OnApplicationShutdown
{
  private readonly users = new Map<string, UserChannel>();
  private readonly topics = new Map<string, TopicChannel>();
  private connections = 0;
  private shuttingDown = false;
  private hardStop?: ReturnType<typeof setTimeout>;
  /** An HTTP/2 server's sessions, for the hard timeout: such a server cannot destroy them itself. */
  private readonly sessions = new Set<Http2SessionLike>();
  private readonly heartbeat: SseHeartbeatTimer;
  private readonly retryHint: SseRetryHint;
  /** Online/offline are this instance's, unless the transport's presence reports the cluster's (see `onModuleInit`). */
  private readonly localPresence: boolean;

  constructor(
    @Inject(SSE_OPTIONS) private readonly options: ResolvedSseOptions,
    @Inject(SSE_TRANSPORT) private readonly transport: SseTransport,
    private readonly stats: SseStatsCollector,
    private readonly lifecycle: SseLifecycleHub,
    // Absent in an application context without HTTP: there is no server to stop then.
    @Optional() private readonly adapterHost?: HttpAdapterHost,
  ) {
    this.heartbeat = new SseHeartbeatTimer(options.heartbeatIntervalMs, () => this.publishToAll(HEARTBEAT_TICK));
    this.retryHint = new SseRetryHint(options.retryMs, options.retryJitterMs);
    this.localPresence = transport.presence?.watch === undefined;
  }

  /**
   * Throws `SseShuttingDownError` once shutdown began (a request still in an async
   * guard then gets its 503 here, never a stream), and `SseConnectionLimitError`
   * if the user has no free slot; either is counted in `stats().refused` unless
   * `counted` is false (a HEAD's check: it opens no stream).
   */
  assertFreeSlot(userId: string, counted = true): void {
    if (this.shuttingDown) {
      if (counted) this.stats.refused.shutting_down++;
      throw new SseShuttingDownError(this.retryHint.retryAfterSec());
    }
    if ((this.users.get(userId)?.open ?? 0) >= this.options.maxConnectionsPerUser) {
      if (counted) this.stats.refused.per_user_limit++;
      throw new SseConnectionLimitError(this.options.maxConnectionsPerUser);
    }
  }

  /**
   * Takes a slot in the user's channel for `member`, and subscribes it to
   * `topics` (or throws, see `assertFreeSlot`); `undefined` past
   * `maxConnections`, counted: the caller then ends the stream with
   * `retryHintFrame('capacity')`, holding no slot.
   */
  join(userId: string, member: SseChannelMember, topics: readonly string[] = []): SseConnection | undefined {
    this.assertFreeSlot(userId);
    if (this.connections >= this.options.maxConnections) {
      this.stats.refused.global_cap++;
      return undefined;
    }
    let channel = this.users.get(userId);
    if (!channel) {
      channel = { members: new Set(), open: 0, ended: false };
      this.users.set(userId, channel);
      if (this.localPresence) this.lifecycle.userOnline(userId);
    }
    const connection: SseConnection = { userId, channel, member, topics, left: false };
    channel.members.add(member);
    for (const topic of topics) {
      let subscribers = this.topics.get(topic);
      if (!subscribers) this.topics.set(topic, (subscribers = { members: new Set() }));
      subscribers.members.add(member);
    }
    channel.open++;
    this.connections++;
    this.heartbeat.update(this.connections);
    return connection;
  }

  /** Frees the slot; idempotent. A stream of a channel `disconnectUser` ended was counted out already. */
  leave(connection: SseConnection): void {
    if (connection.left) return;
    connection.left = true;
    const { channel } = connection;
    channel.members.delete(connection.member);
    for (const topic of connection.topics) {
      const subscribers = this.topics.get(topic);
      if (subscribers?.members.delete(connection.member) && subscribers.members.size === 0) this.topics.delete(topic);
    }
    if (channel.ended) return;
    channel.open--;
    this.connections--;
    this.heartbeat.update(this.connections);
    if (channel.open === 0) {
      channel.ended = true;
      this.users.delete(connection.userId);
      if (this.localPresence) this.lifecycle.userOffline(connection.userId);
    }
  }

  /**
   * Hands a published frame to this instance's streams of its audience; returns
   * how many. Their writes happen in this call, so with metrics on the frame's
   * publish-to-write time is read once for the whole fan-out (a stream holding
   * it back during a replay writes it a little later).
   */
  deliver(audience: SseAudience, frame: SseFrame): number {
    let reached: number;
    switch (audience.kind) {
      case 'users':
        reached = 0;
        for (const userId of audience.userIds) reached += this.publishToUser(userId, frame);
        break;
      case 'topic':
        reached = this.publishToTopic(audience.topic, frame);
        break;
      case 'all':
        reached = this.publishToAll(frame);
        break;
    }
    if (this.stats.timing && reached > 0 && frame.publishedAt) this.stats.wrote(frame.publishedAt, reached);
    return reached;
  }

  /** Every stream here gets a `reset` with `id` (see `SseDeliveryTarget.reset`); counted by reason, per stream. */
  reset(reason: SseResetReason, id: string): number {
    const reached = this.publishToAll(resetFrame(reason, id));
    this.stats.resets[reason] += reached;
    return reached;
  }

  /** This instance's streams of an audience. */
  countFor(audience: SseAudience): number {
    switch (audience.kind) {
      case 'users':
        return audience.userIds.reduce((sum, userId) => sum + this.connectionCount(userId), 0);
      case 'topic':
        return this.topics.get(audience.topic)?.members.size ?? 0;
      case 'all':
        return this.connections;
    }
  }

  /** Returns the number of streams the frame was handed to. */
  private publishToUser(userId: string, frame: SseFrame): number {
    const channel = this.users.get(userId);
    if (!channel) return 0;
    for (const member of channel.members) member.next(frame);
    return channel.open;
  }

  /** Returns the number of streams subscribed to the topic the frame was handed to. */
  private publishToTopic(topic: string, frame: SseFrame): number {
    const subscribers = this.topics.get(topic);
    if (!subscribers) return 0;
    const reached = subscribers.members.size;
    for (const member of subscribers.members) member.next(frame);
    return reached;
  }

  /** Topics with at least one subscribed stream. */
  topicCount(): number {
    return this.topics.size;
  }

  publishToAll(message: SseChannelMessage): number {
    for (const channel of this.users.values()) for (const member of channel.members) member.next(message);
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
    // Each stream ends (and says so) before the user goes offline.
    for (const member of channel.members) member.complete();
    if (this.localPresence) this.lifecycle.userOffline(userId);
    return count;
  }

  /** Whether shutdown began: streams the registry ends from then on end for it. */
  isShuttingDown(): boolean {
    return this.shuttingDown;
  }

  connectionCount(userId?: string): number {
    if (userId === undefined) return this.connections;
    return this.users.get(userId)?.open ?? 0;
  }

  connectedUserCount(): number {
    return this.users.size;
  }

  /** Streams turned away past `maxConnections` since startup. */
  rejectedConnectionCount(): number {
    return this.stats.refused.global_cap;
  }

  /** The last frame of a stream the server ends itself: a `retry:` hint drawn for this stream, and why. */
  retryHintFrame(reason: SseRetryReason): SseFrame {
    return this.retryHint.frame(reason);
  }

  /**
   * Starts receiving published events, and tracks an HTTP/2 server's sessions
   * (one entry per connection, not per stream) for the hard timeout.
   */
  async onModuleInit(): Promise<void> {
    await this.transport.connect(this);
    // The cluster's first and last stream of a user, each reported once, by the instance whose slot made the change.
    this.transport.presence?.watch?.(this.lifecycle);
    const server = this.httpServer();
    if (!server || typeof server.closeAllConnections === 'function' || typeof server.on !== 'function') return;
    server.on('session', (session) => {
      this.sessions.add(session);
      session.once('close', () => this.sessions.delete(session));
    });
  }

  /** The first shutdown hook: from here no stream opens, and the hard timeout runs. */
  onModuleDestroy(): void {
    this.beginShutdown();
  }

  /**
   * Streams must end before the HTTP server closes, or `app.close()` would wait on
   * them: each ends with its own jittered `retry:` hint, so that clients do not all
   * come back at once. What does not end (a client that does not read) is left to the hard timeout.
   */
  beforeApplicationShutdown(): void {
    this.beginShutdown();
    for (const channel of [...this.users.values()]) for (const member of channel.members) member.next(SHUTDOWN_NOTICE);
    // Streams whose subscriber ignored the notice end with their channel.
    for (const userId of [...this.users.keys()]) this.disconnectUser(userId);
  }

  /** The HTTP server closed (the streams ended before it): the hard timeout is not needed, and the transport stops. */
  async onApplicationShutdown(): Promise<void> {
    clearTimeout(this.hardStop);
    await this.transport.close?.();
  }

  private beginShutdown(): void {
    if (this.shuttingDown) return;
    this.shuttingDown = true;
    this.hardStop = setTimeout(() => this.destroyConnections(), this.options.shutdownTimeoutMs);
    // It must never be what keeps a process alive: an open connection is.
    this.hardStop.unref();
  }

  /**
   * The hard timeout: Node's server waits in `close()` for every response to
   * finish (and Fastify's HTTP/2 close for every session's streams), which a
   * client that does not read never lets happen.
   */
  private destroyConnections(): void {
    this.httpServer()?.closeAllConnections?.();
    for (const session of this.sessions) session.destroy();
  }

  private httpServer(): HttpServerLike | undefined {
    return this.adapterHost?.httpAdapter?.getHttpServer() as HttpServerLike | undefined;
  }
}
