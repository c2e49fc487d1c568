import { parseEventId, readLastEventId, readSharedParam, SSE_LIMITS, topicProblem } from '@nest-sse/protocol';
import { BadRequestException, Inject, Injectable, Logger } from '@nestjs/common';
import { defer, EMPTY, Observable } from 'rxjs';

import type { SseUser } from '../auth/sse-user.js';
import type { SseHistoryStore, SseReplayResult } from '../history/sse-history-store.interface.js';
import { SseLifecycleHub } from '../observe/sse-lifecycle.hub.js';
import { SseStatsCollector } from '../observe/sse-stats.collector.js';
import type { ResolvedSseOptions } from '../options/sse-options.resolver.js';
import { SseConnectionLimitError, SsePresenceUnavailableError } from '../sse.exceptions.js';
import { SSE_HISTORY_STORE, SSE_OPTIONS, SSE_TRANSPORT } from '../sse.tokens.js';
import type { SsePresence, SseTransport } from '../transport/sse-transport.interface.js';
import { isThenable } from '../utils/is-thenable.js';
import { SseFrame, type SseFrameFields } from '../wire/sse-frame.js';
import { type SseConnection, SseConnectionRegistry } from './sse-connection.registry.js';
import { SseExpiryScheduler } from './sse-expiry.scheduler.js';
import { isSubscribedAsHead, SseStreamLease } from './sse-stream.lease.js';
import { type SseRelayServices, type SseStartPoint, SseStreamRelay } from './sse-stream.relay.js';
import { requestForStream } from './sse-subscription.context.js';

export interface SseStreamContext {
  /**
   * Where the stream resumes from. Not given (or empty): from the route's request, read
   * when the stream is subscribed (see `resumePoint`); `null`: from now, whatever the request says.
   */
  lastEventId?: string | null;
  /** Topics the stream subscribes to, checked and authorised by the caller. */
  topics?: readonly string[];
  /** Its cluster-wide slot, owned by the stream (see `open`). */
  lease?: SseStreamLease;
  /**
   * The route's request: a HEAD is answered at once, with the checks alone (see
   * `create`, `open`), the stream resumes from its `Last-Event-ID` (unless `lastEventId`
   * says otherwise), and a stream the sink dropped for not reading says so when it ends.
   * Not given, the `@SseRoute()` sink's request when it subscribes the stream stands in,
   * if the stream was made while that route's handler ran (see `madeAt`).
   */
  request?: object;
  /**
   * When a stream without `request` was made (`tick()`, at `SseService.stream()` /
   * `openStream()`): the sink's request stands in only for a stream made while that
   * route's handler ran (see `requestForStream`). Left out, no request stands in.
   */
  madeAt?: number;
  /**
   * One client holds the stream for several subscribers (`?shared=1`): topic events carry
   * their topic in front of their data (see `SseFrame.tagged`), and the opening is a `connected` event.
   * Not given: what the route's request asks (`readSharedParam`), read as `lastEventId` is
   * (`request`, else the sink's when it stands in); a bad value is a 400 (see `sharedFor`).
   */
  shared?: boolean;
}

/**
 * Creates one stream's Observable: replay of what the client missed, then its
 * live events and heartbeats, until the user's channel ends or the token
 * expires. The module's route and `SseService.stream()` both use it.
 *
 * A HEAD opens no stream. It is known by `context.request`'s method, or by being
 * subscribed through `subscribeAsHead()` (the module's sink, for a route whose
 * handler was not given its request): it gets the same checks as its GET,
 * read-only, so the same 429 or 503, and then a stream that ends at once,
 * holding no slot and reporting no online. A HEAD's refusal is not counted as a
 * refused stream (`stats().refused`): it asks what a GET would get.
 */
@Injectable()
export class SseStreamFactory {
  private readonly logger = new Logger('SseStream');
  private readonly relays: SseRelayServices;

  constructor(
    private readonly registry: SseConnectionRegistry,
    @Inject(SSE_TRANSPORT) private readonly transport: SseTransport,
    @Inject(SSE_HISTORY_STORE) private readonly history: SseHistoryStore | null,
    @Inject(SSE_OPTIONS) private readonly options: ResolvedSseOptions,
    private readonly stats: SseStatsCollector,
    private readonly lifecycle: SseLifecycleHub,
  ) {
    const expiries = new SseExpiryScheduler<SseStreamRelay>((relay) => relay.expire());
    this.relays = { registry, expiries, stats, lifecycle };
  }

  /**
   * Throws `SseConnectionLimitError` at once when the user has no free slot, and
   * `SseShuttingDownError` once shutdown began, so the route can answer 429 or
   * 503 before any byte. Its place in the user's channel is taken on subscribe
   * and given back on teardown: an Observable nobody subscribes holds nothing
   * here. A `lease` (from `open()`) is the stream's, and its one subscription
   * claims it: the relay's teardown releases it, and so does a failure as it is
   * subscribed; a HEAD's subscription gives it back.
   */
  create(
    { userId, expiresAt }: SseUser,
    { lastEventId, topics = [], lease, request, madeAt, shared }: SseStreamContext = {},
  ): Observable<SseFrame> {
    // With the request at hand, a bad ?shared= is refused now, before any slot (a HEAD's too: its GET's answer).
    const asked = request === undefined ? shared : this.sharedFor(shared, request, lease);
    if (isHead(request)) return this.answerHead(userId, lease);
    const expiry = this.options.closeOnTokenExpiry ? expiresAt : undefined;
    this.registry.assertFreeSlot(userId);
    return new Observable<SseFrame>((subscriber) => {
      if (isSubscribedAsHead()) {
        // A HEAD's subscription: the stream does not open, and the slot taken for it goes back.
        lease?.release();
        subscriber.complete();
        return undefined;
      }
      // The handler's request, or the one the @SseRoute() sink subscribes this stream for
      // when the stream was made by that route's handler (never a stream shared across requests).
      const routeRequest = request ?? requestForStream(madeAt);
      // A bad ?shared= on the sink's request: refused as it is subscribed, before any byte (the slot goes back).
      const isShared = this.sharedFor(asked, routeRequest, lease);
      // The subscription that opens the stream owns its slot from here (another one throws).
      const slot = lease?.claim();
      // Node's own request: what the sink marks, and alive anyway while the stream is.
      const incoming =
        routeRequest === undefined ? undefined : ((routeRequest as { raw?: object }).raw ?? routeRequest);
      const relay = new SseStreamRelay(subscriber, this.options.heartbeatAs, this.relays, slot, incoming, isShared);
      // Live messages reach the relay from here on, held back while history is read,
      // so an event published during the reconnect is neither lost nor sent twice.
      let connection: SseConnection | undefined;
      try {
        connection = this.registry.join(userId, relay, topics);
      } catch (err) {
        // Refused as it is subscribed (Redis counts fewer of the user's slots than this
        // instance holds, after a restart or failover; shutdown began): the slot goes back.
        slot?.release();
        throw err;
      }
      if (!connection) {
        // Past maxConnections: a 200 that ends at once with a jittered retry hint, holding no slot
        // (EventSource treats any other status as final; this way the browser comes back later).
        subscriber.next(this.registry.retryHintFrame('capacity'));
        subscriber.complete();
        slot?.release();
        return undefined;
      }
      relay.connection = connection;
      this.lifecycle.connected({ userId, topics });
      // Every frame held back is newer than this: a fresh or reset stream starts here.
      const subscribedAt = this.transport.position();
      const { retryMs } = this.options;

      // Whatever the store does (throws, rejects, answers nonsense), the stream starts with a reset.
      const unavailable = (err: unknown): SseStartPoint => {
        this.logger.error(`history replay failed: ${(err as Error)?.message ?? err}`);
        return { kind: 'reset', reason: 'history-unavailable' };
      };
      let start: SseStartPoint | PromiseLike<SseStartPoint>;
      try {
        start = this.startPoint(userId, resumePoint(lastEventId, routeRequest), topics);
      } catch (err) {
        start = unavailable(err);
      }
      if (isThenable<SseStartPoint>(start)) {
        withTimeout(start, this.options.history.replayTimeoutMs)
          .then(undefined, unavailable)
          .then((point) => relay.begin(point, retryMs, subscribedAt))
          .catch((err: unknown) => this.logger.error(`stream start failed: ${(err as Error)?.message ?? err}`));
      } else {
        relay.begin(start, retryMs, subscribedAt);
      }

      if (expiry !== undefined) relay.expiry = this.relays.expiries.schedule(relay, expiry);
      // The relay is its own teardown, so nothing of this function outlives the subscribe.
      return relay;
    });
  }

  /**
   * `create()` made as its Observable is subscribed (`SseService.stream()`), so
   * that its checks fail the subscription. A HEAD (`context.request`'s method)
   * is answered now instead: its checks throw from here, before the route's
   * handler returns, so that the exception filters answer it, and its Observable
   * ends at once, whether the route's pipeline subscribes it or not.
   */
  createOnSubscribe(user: SseUser, context: SseStreamContext = {}): Observable<SseFrame> {
    if (isHead(context.request)) return this.create(user, context);
    return defer(() => this.create(user, context));
  }

  /**
   * `create()`, after taking a cluster-wide slot when the transport keeps
   * presence: a 429 when the user holds `maxConnectionsPerUser` streams on any
   * instance, a 503 when the slots cannot be checked. Without presence, `create()` itself.
   *
   * The slot is the stream's (`SseStreamLease`): its subscription claims it and
   * its teardown releases it; a stream that does not open gives it back (a HEAD's
   * subscription, a failure as it is subscribed, the claim window for an Observable
   * nobody subscribes). A HEAD (`context.request`'s method) takes nothing: the
   * same checks, read-only (`presence.count`), then a stream that ends at once.
   */
  open(user: SseUser, context: SseStreamContext = {}): Observable<SseFrame> | Promise<Observable<SseFrame>> {
    const presence = this.transport.presence;
    if (!presence) return this.create(user, context);
    // A bad ?shared= is refused before any slot is taken (a HEAD's too: its GET's answer); the request is read once.
    const { request } = context;
    const shared = request === undefined ? context.shared : this.sharedFor(context.shared, request, undefined);
    if (isHead(request)) return this.answerHeadInCluster(user.userId, presence);
    this.registry.assertFreeSlot(user.userId);
    const limit = this.options.maxConnectionsPerUser;
    return presence.acquire(user.userId, limit).then(
      (slot) => {
        if (!slot) this.refuseOverLimit(limit);
        const lease = new SseStreamLease(slot);
        try {
          return this.create(user, { ...context, shared, lease });
        } catch (err) {
          lease.release();
          throw err;
        }
      },
      (err: unknown) => this.refuseUnavailable(err),
    );
  }

  /**
   * What a HEAD gets from `create()`: this instance's checks (429 when the user
   * holds `maxConnectionsPerUser` streams here, 503 once shutdown began), not
   * counted, then a stream that ends at once. A slot taken for it goes back.
   */
  private answerHead(userId: string, lease: SseStreamLease | undefined): Observable<SseFrame> {
    lease?.release();
    this.registry.assertFreeSlot(userId, false);
    return EMPTY;
  }

  /**
   * What a HEAD gets from `open()`: the answer its GET would get (429 when the
   * user holds `maxConnectionsPerUser` streams on any instance, 503 when that
   * cannot be checked), not counted, with no slot taken and no online reported.
   */
  private answerHeadInCluster(userId: string, presence: SsePresence): Promise<Observable<SseFrame>> {
    this.registry.assertFreeSlot(userId, false);
    const limit = this.options.maxConnectionsPerUser;
    return presence.count(userId).then(
      (held) => {
        if (held >= limit) this.refuseOverLimit(limit, false);
        return EMPTY;
      },
      (err: unknown) => this.refuseUnavailable(err, false),
    );
  }

  /**
   * Whether the stream is shared: the caller's `shared` when it gave one (`true` or
   * `false`: the request is then not read), else what `request` asks by the module
   * route's rule (`readSharedParam`: `?shared=1`), else not. A bad value (another than
   * `1`, or the parameter repeated) throws a 400 (`BadRequestException`), counted in
   * `stats().refused` unless it answers a HEAD, after giving back a `lease`'s slot.
   */
  private sharedFor(
    shared: boolean | undefined,
    request: object | undefined,
    lease: SseStreamLease | undefined,
  ): boolean {
    if (shared !== undefined) return shared === true;
    if (request === undefined) return false;
    const flag = readSharedParam(request);
    if (typeof flag === 'boolean') return flag;
    lease?.release();
    if (!isHead(request)) this.stats.refused.bad_request++;
    throw new BadRequestException(flag);
  }

  /** A 429; `counted` in `stats().refused` unless it answers a HEAD. */
  private refuseOverLimit(limit: number, counted = true): never {
    if (counted) this.stats.refused.per_user_limit++;
    throw new SseConnectionLimitError(limit);
  }

  /** A 503, logged; `counted` in `stats().refused` unless it answers a HEAD. */
  private refuseUnavailable(err: unknown, counted = true): never {
    this.logger.error(`stream slot check failed: ${(err as Error)?.message ?? err}`);
    if (counted) this.stats.refused.unavailable++;
    throw new SsePresenceUnavailableError();
  }

  /** Decides how to start from the client's Last-Event-ID; may wait on an async store. */
  private startPoint(
    userId: string,
    lastEventId: string | undefined,
    topics: readonly string[],
  ): SseStartPoint | PromiseLike<SseStartPoint> {
    if (lastEventId === undefined || lastEventId === '') return { kind: 'fresh' };
    const after = lastEventId.length <= SSE_LIMITS.lastEventIdLength ? parseEventId(lastEventId) : undefined;
    if (!after) return { kind: 'reset', reason: 'malformed-id' };
    if (!this.history) return { kind: 'reset', reason: 'history-disabled' };
    if (!this.transport.knows(after)) return { kind: 'reset', reason: 'unknown-id' };
    const toStart = (result: SseReplayResult): SseStartPoint => {
      if (result?.ok === true && Array.isArray(result.frames)) {
        return { kind: 'resume', from: lastEventId, frames: result.frames.map(asFrame) };
      }
      if (
        result?.ok === false &&
        (result.reason === 'too-old' || result.reason === 'unknown-id' || result.reason === 'history-lost')
      ) {
        return { kind: 'reset', reason: result.reason };
      }
      throw new Error('the history store answered something that is not a replay result');
    };
    // Only the topics it subscribes to now: never what it was subscribed to before the reconnect.
    const result = this.history.replay(userId, after, topics);
    return isThenable<SseReplayResult>(result) ? result.then(toStart) : toStart(result);
  }
}

/**
 * Where a stream resumes from: the handler's own `lastEventId` when it gave one
 * (a non-empty string; `null` for "from now"), else what its route's request
 * asks for by the module's rule (`readLastEventId`: header, then query), so that
 * an app's route resumes as the module's does without reading either itself.
 */
function resumePoint(lastEventId: string | null | undefined, request: object | undefined): string | undefined {
  if (lastEventId === null) return undefined;
  if (lastEventId !== undefined && lastEventId !== '') return lastEventId;
  return request === undefined ? undefined : readLastEventId(request);
}

/**
 * The one rule for a HEAD: the route's request says so (Express's and Fastify's
 * both carry the method; both run a GET route's handler for HEAD), or the sink
 * is subscribing a HEAD's Observable (`subscribeAsHead`).
 */
function isHead(request: object | undefined): boolean {
  return (request as { method?: unknown } | undefined)?.method === 'HEAD' || isSubscribedAsHead();
}

/** A store that keeps events outside this process gives back their fields, not the frames it was handed. */
function asFrame(frame: SseFrameFields): SseFrame {
  if (frame instanceof SseFrame) return frame;
  if (frame === null || typeof frame !== 'object')
    throw new Error('the history store gave back a frame that is not one');
  // Checked by the wire rules like any message: a store cannot put a broken name or id on the wire.
  const checked = SseFrame.fromMessage(frame);
  const { topic } = frame;
  if (topic === undefined) return checked;
  // A topic event's topic, kept so that shared streams replay it tagged.
  const problem = topicProblem(topic);
  if (problem) throw new Error(`the history store gave back a frame whose topic is not one: ${problem}`);
  const { type, id, data, retry, comment } = checked;
  return new SseFrame({ type, id, data, retry, comment, topic });
}

/** A store that never answers must not hold a stream (and its slot) back for ever. */
function withTimeout<T>(answer: PromiseLike<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the history store did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([answer, timeout]).finally(() => clearTimeout(timer));
}
