import { checkTopics, isUserId, topicProblem, USER_ID_RULE } from '@nest-sse/protocol';
import { Inject, Injectable, type MessageEvent } from '@nestjs/common';
import type { Observable } from 'rxjs';

import type { SseUser } from './auth/sse-user.js';
import type { SseHistoryStore } from './history/sse-history-store.interface.js';
import { type SseStats, SseStatsCollector, type SseTargetKind } from './observe/sse-stats.collector.js';
import { SseEventError, SseTopicInvalidError } from './sse.exceptions.js';
import { SSE_HISTORY_STORE, SSE_MAX_PENDING_DATA_LENGTH, SSE_TRANSPORT } from './sse.tokens.js';
import { SseConnectionRegistry } from './streams/sse-connection.registry.js';
import { type SseStreamContext, SseStreamFactory } from './streams/sse-stream.factory.js';
import { tick } from './streams/sse-subscription.context.js';
import type { SseAudience, SseTransport } from './transport/sse-transport.interface.js';
import type { SseEvent, SseEventMap } from './wire/sse-event.interface.js';
import { SseFrame } from './wire/sse-frame.js';

/**
 * The publishing API, injectable anywhere. Every send checks its event at the
 * call site (an unsafe type or id, or data that is not JSON, throws
 * `SseEventError` and nothing is sent), encodes its data once, and hands it to
 * the transport, which gives it the next ordered id, keeps it in history for
 * replay and delivers it; it returns the number of open streams it reached
 * (with a cluster transport, this instance's streams for its audience, since
 * delivery happens when the event comes back from the cluster).
 *
 * Typed by the app's event map when injected as `SseService<AppEvents>` (see
 * `SseEventMap`): the type argument exists for the compiler only, so every
 * injection gets the same instance.
 *
 * @publicApi
 */
@Injectable()
// Record<string, any>, not object: `app.get(SseService)` types the instance with the constraint, which must stay permissive.
export class SseService<TEvents extends Record<string, any> = SseEventMap> {
  /** With history, ids order replay, so callers may not bring their own. */
  private readonly historyEnabled: boolean;

  constructor(
    private readonly registry: SseConnectionRegistry,
    @Inject(SSE_TRANSPORT) private readonly transport: SseTransport,
    @Inject(SSE_HISTORY_STORE) history: SseHistoryStore | null,
    private readonly streams: SseStreamFactory,
    @Inject(SSE_MAX_PENDING_DATA_LENGTH) private readonly maxEventLength: number,
    private readonly counters: SseStatsCollector,
  ) {
    this.historyEnabled = history !== null;
  }

  /**
   * A user's stream as an Observable, for your own `@SseRoute()` or `@Sse()`
   * handler (your own route and auth): the same replay, heartbeat and limit as
   * the module's route. The slot is taken on subscribe; over the limit it errors
   * with `SseConnectionLimitError`, an HttpException that answers 429.
   *
   * It reads what the client asks from the request as the module's route does:
   * where to resume (`Last-Event-ID` header, else `?lastEventId=`) unless
   * `lastEventId` says otherwise, and whether it is a shared stream (`?shared=1`,
   * as `@nest-sse/client`'s shared-stream leader asks) unless `shared` says otherwise;
   * a bad `shared` (not `1`, or repeated) errors with a 400 at subscribe, before any byte:
   *
   * ```ts
   * @SseRoute('projects/:id/events')
   * @UseGuards(SseAuthGuard, ProjectMemberGuard)
   * events(@SseStreamUser() user: SseUser, @Req() request: Request) {
   *   return this.sse.stream(user.userId, { request, expiresAt: user.expiresAt });
   * }
   * ```
   *
   * Without `request`, an `@SseRoute()` route's request (for both) stands in only for a stream
   * its handler made (this call while the handler ran, before its result reached the
   * sink) and the sink subscribes as it subscribes the handler's Observable. Any other
   * stream (made before the handler, such as one shared by the route's requests through
   * `share()`, or made as the sink subscribes, by a lifecycle listener or a `switchMap`)
   * starts from now and is never held for a route's request or reported `slow_client`;
   * a stream a handler makes and keeps for later requests is its first request's.
   *
   * Give it the route's `request` (on Nest's `@Sse()`, which subscribes a HEAD's
   * Observable as a GET's, only the request tells a HEAD): a HEAD is then answered
   * by this call, which throws the 429 (or the 503 once shutdown began) at once,
   * not counted in `stats().refused`, or returns a stream that ends at once,
   * taking no slot. An `@SseRoute()` answers a HEAD as its GET without it too:
   * its sink subscribes the Observable as a HEAD's, which opens nothing.
   *
   * See `SseStreamOptions`. With a cluster transport the limit here is this
   * instance's: use `openStream()` for the cluster's.
   */
  stream(userId: string, options: SseStreamOptions = {}): Observable<MessageEvent> {
    const [user, context] = streamArguments(userId, options);
    return this.streams.createOnSubscribe(user, context);
  }

  /**
   * `stream()` for a cluster: resolves once the user's slot is taken across every
   * instance (the transport's presence), and rejects with the 429 when the user
   * already holds `maxConnectionsPerUser` streams on any of them (a 503 when the
   * slots cannot be checked). Return it from an `@SseRoute()` handler, which
   * awaits it before any byte. Without a cluster transport, the same as `stream()`.
   * It resumes and is shared as `stream()` is, by what the request asks (`Last-Event-ID`
   * or `?lastEventId=`, and `?shared=1`), unless `lastEventId` or `shared` say otherwise:
   * `return this.sse.openStream(user.userId, { request, expiresAt: user.expiresAt })`.
   * Given `request`, a bad `?shared=` (not `1`, or repeated) rejects with a 400 before
   * any slot is taken; without it, the sink's request is read as it subscribes, and the
   * same 400 is answered there, before any byte.
   * Without `request`, by `stream()`'s rule: the `@SseRoute()` sink's request stands in
   * only for a stream the route's handler made, never for one shared by its requests.
   *
   * The slot belongs to the stream: its one subscription claims it and its end
   * gives it back. Give it the route's `request`: for a HEAD it then takes no slot
   * (the same checks, read-only, a refusal not counted in `stats().refused`; the
   * stream ends at once). Without it, a HEAD takes a slot as its GET would, and an
   * `@SseRoute()`'s sink, which subscribes the handler's Observable as a HEAD's,
   * gives it back at once, however the handler wrapped the stream (`pipe`,
   * `concat`); the lifecycle may then see the user online and offline. A stream
   * nobody subscribes within 10 s (a handler that failed after this call, or a
   * part of a HEAD's Observable subscribed only after a timer or a Promise) gives
   * its slot back, and a second subscription, or one after that, fails.
   */
  async openStream(userId: string, options: SseStreamOptions = {}): Promise<Observable<MessageEvent>> {
    const [user, context] = streamArguments(userId, options);
    return this.streams.open(user, context);
  }

  /**
   * Sends an event to every open stream of one user (and keeps it for their replay).
   * @returns the number of that user's streams it reached (0 if none is open)
   */
  sendToUser(userId: string, event: SseEvent<TEvents>): number {
    assertUserId(userId);
    return this.send({ kind: 'users', userIds: [userId] }, event, 'user');
  }

  /**
   * Sends one event to every open stream of each user; a user listed twice gets it once.
   * Every id is checked before anything is sent.
   * @returns the number of streams it reached
   */
  sendToUsers(userIds: Iterable<string>, event: SseEvent<TEvents>): number {
    const unique = [...new Set(userIds)];
    unique.forEach(assertUserId);
    return this.send({ kind: 'users', userIds: unique }, event, 'users');
  }

  /**
   * Sends an event to every open stream (and keeps it for every user's replay).
   * @returns the number of streams it reached
   */
  broadcast(event: SseEvent<TEvents>): number {
    return this.send(ALL, event, 'broadcast');
  }

  /**
   * Sends an event to every stream subscribed to the topic (and keeps it in the
   * topic's history, for streams that resume subscribed to it). The name is
   * checked like an event's type: a bad one throws `SseEventError`, nothing sent.
   * @returns the number of streams it reached (0 if none is subscribed)
   */
  publish(topic: string, event: SseEvent<TEvents>): number {
    assertTopic(topic);
    return this.send({ kind: 'topic', topic }, event, 'topic');
  }

  /** Topics with at least one subscribed stream. */
  topicCount(): number {
    return this.registry.topicCount();
  }

  /**
   * This instance's figures: open streams, users and topics now, and since
   * startup refusals by reason, events published by type and target, frames
   * written, events replayed, resets by reason, disconnects by reason. What
   * `@nest-sse/server/metrics` exports, without Prometheus.
   */
  stats(): SseStats {
    const { counters: stats, registry } = this;
    return {
      openStreams: registry.connectionCount(),
      connectedUsers: registry.connectedUserCount(),
      liveTopics: registry.topicCount(),
      refused: { ...stats.refused },
      published: { byType: Object.fromEntries(stats.byType), byTarget: { ...stats.byTarget } },
      framesWritten: stats.framesWritten,
      eventsReplayed: stats.eventsReplayed,
      resets: { ...stats.resets },
      disconnects: { ...stats.disconnects },
      publishToWrite: stats.publishToWrite(),
    };
  }

  /**
   * Ends every open stream of the user; their EventSource will try to reconnect.
   * @returns how many streams were open
   */
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
    return this.registry.connectedUserCount();
  }

  /** Streams turned away (200, a jittered `retry:` hint, closed) past `maxConnections`, since startup. */
  rejectedConnectionCount(): number {
    return this.registry.rejectedConnectionCount();
  }

  /** Whether the user has at least one open stream. */
  isConnected(userId: string): boolean {
    return this.connectionCount(userId) > 0;
  }

  /**
   * Open streams of one user, or of everyone, on every instance: from the
   * cluster transport's presence, or this instance's count without one.
   */
  async clusterConnectionCount(userId?: string): Promise<number> {
    if (userId !== undefined) assertUserId(userId);
    const presence = this.transport.presence;
    return presence ? presence.count(userId) : this.registry.connectionCount(userId);
  }

  /** Whether the user has a stream open on any instance (see `clusterConnectionCount`). */
  async isConnectedInCluster(userId: string): Promise<boolean> {
    return (await this.clusterConnectionCount(userId)) > 0;
  }

  /**
   * Checks and encodes the event, then hands it to the transport, which gives
   * it its id, keeps it and delivers it. With a transport that delivers later
   * (a cluster's), the count is of this instance's streams for the audience.
   */
  private send(audience: SseAudience, event: SseEvent, target: SseTargetKind): number {
    if (this.historyEnabled && event?.id !== undefined) {
      throw new SseEventError(
        'SSE event ids are assigned by the server (they order replay); put domain ids in data, or disable history',
      );
    }
    const { type, id, data } = SseFrame.checkEvent(event);
    // No stream could take it without owing more than the limit, which is what gets a client dropped.
    const length = SseFrame.maxEncodedLength(type, data);
    if (length > this.maxEventLength) {
      throw new SseEventError(
        `SSE event is up to ${length} bytes encoded, larger than maxPendingDataLength (${this.maxEventLength})`,
      );
    }
    const reached = this.transport.publish({ audience, type, data, id }) ?? this.registry.countFor(audience);
    this.counters.published(type, target);
    return reached;
  }
}

const ALL: SseAudience = Object.freeze({ kind: 'all' });

/**
 * What a stream of an app's own route starts from.
 *
 * @publicApi
 */
export interface SseStreamOptions {
  /**
   * Where the stream resumes from. Leave it out: the stream resumes from the
   * route's request, by the module route's rule (its `Last-Event-ID` header when
   * not empty, else its `lastEventId` query parameter, which `@nest-sse/client`
   * and a reloaded page use since EventSource cannot set headers; a repeated
   * parameter is a malformed id, answered with a `reset`), read when the stream
   * is subscribed: the `request` below, or else the `@SseRoute()` sink's, for a
   * stream the route's handler made (see `SseService.stream()`).
   * A non-empty string overrides the request; `null` starts from now whatever
   * the request says; an empty string counts as left out.
   */
  lastEventId?: string | null;
  /** Epoch ms at which the stream ends with `auth-expired`. */
  expiresAt?: number;
  /**
   * Topics it subscribes to, besides the user's events and broadcasts: checked
   * against the topic rules (`SseTopicInvalidError`, a 400), but not authorised:
   * ask `SseTopicAuthorizer.authorize(user, topics)` first.
   */
  topics?: readonly string[];
  /**
   * The route's `@Req()`, recommended on every own route: the stream resumes
   * from it (see `lastEventId`), a stream dropped for not reading ends with
   * reason `slow_client` in `stats()` and lifecycle events (else `client_left`),
   * and a HEAD is known when the stream is made: `stream()` and `openStream()`
   * answer it with their checks alone (429 or 503, not counted as refused
   * streams), take no slot and return a stream that ends at once. On an
   * `@SseRoute()` route the sink's request stands in for the first two when it
   * is left out, for a stream the route's handler made and the sink subscribes as
   * it subscribes the handler's Observable (not later, and never a stream made
   * outside the handler and shared by its requests: see `SseService.stream()`);
   * Nest's `@Sse()` knows the request only from here.
   */
  request?: object;
  /**
   * One client holds the stream for several subscribers (as `@nest-sse/client`'s tabs
   * share one), as the module's route does for `?shared=1`: each topic event is written
   * with its topic as the first line of its data (`orders/1\n{"orderId":"1"}`;
   * `untagTopicData` splits it), events to users and broadcasts unchanged, and the
   * opening is a `connected` event whose id is where the stream starts.
   * Leave it out: the request decides, by the module route's rule (`?shared=1` shared,
   * absent not; any other value, or the parameter repeated, is a 400 before any byte,
   * counted as `bad_request` in `stats().refused`), read from the `request` below, or
   * else the `@SseRoute()` sink's, as `lastEventId` is; no request, not shared.
   * `true` or `false` wins over the request, which is then not read.
   */
  shared?: boolean;
}

function streamArguments(userId: string, options: SseStreamOptions): [SseUser, SseStreamContext] {
  assertUserId(userId);
  const topics = options.topics === undefined ? [] : checkTopics(options.topics);
  if (typeof topics === 'string') throw new SseTopicInvalidError(topics);
  const { lastEventId, request, shared } = options;
  // Without a request, when it was made: the @SseRoute() sink's request stands in only for a stream its handler made.
  const madeAt = request === undefined ? tick() : undefined;
  return [
    { userId, expiresAt: options.expiresAt },
    { lastEventId, topics, request, madeAt, shared: shared === undefined ? undefined : shared === true },
  ];
}

function assertUserId(userId: unknown): asserts userId is string {
  if (!isUserId(userId)) throw new SseEventError(USER_ID_RULE);
}

function assertTopic(topic: unknown): asserts topic is string {
  const problem = topicProblem(topic);
  if (problem) throw new SseEventError(problem);
}
