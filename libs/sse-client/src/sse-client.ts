import { SSE_AUTH_REASON_HEADER, SSE_EVENT_TYPES, untagTopicData } from '@nest-sse/protocol';

import { backoffDelay, resolveBackoff, type SseBackoff } from './backoff.js';
import { resolveShareParts } from './share/share-environment.js';
import {
  isAfter,
  type SseLeaderRelay,
  type SseLeaderStream,
  type SseShareHost,
  SseTabShare,
} from './share/tab-share.js';
import { EVENTSOURCE_OWN_TYPES, type SseRelayedEvent } from './share/tab-share.protocol.js';
import { readAuthReason, SseClientError } from './sse-client.errors.js';
import type {
  SseAuthExpiredData,
  SseClientOptions,
  SseEventData,
  SseEventMap,
  SseEventSourceConstructor,
  SseEventSourceLike,
  SseGetToken,
  SseHandler,
  SseResetData,
  SseShareRole,
  SseShareStats,
  SseStatus,
  SseStatusReason,
} from './sse-client.types.js';
import { resolveTopics } from './stream-topics.js';
import { buildStreamUrl } from './stream-url.js';

/** EventSource.readyState values (not read from the class: injected implementations may lack them). */
const CLOSED = 2;

/** The server's answer to a refused topic (or a user it forbids): asking again gets the same. */
const FORBIDDEN = 403;
/** The server's answer to a credential it does not accept: counted toward `maxAuthFailures`. */
const UNAUTHORIZED = 401;

/** The 401 category of a ticket the server does not know (spent, expired, dropped for a newer one). */
const TICKET_REASON = 'ticket';

/** `maxAuthFailures` when not given: a fresh credential refused three times in a row will not do. */
export const DEFAULT_MAX_AUTH_FAILURES = 3;

const { authExpired: AUTH_EXPIRED, reset: RESET, heartbeat: HEARTBEAT, connected: CONNECTED } = SSE_EVENT_TYPES;

/**
 * Events the client always listens to: the control events it acts on, and the server's
 * other types so that `lastEventId` and connection health follow every event, handled or not.
 * `message` is what the EventSource names an event sent without an `event:` line.
 */
const BUILT_IN_EVENT_TYPES: readonly string[] = [...Object.values(SSE_EVENT_TYPES), 'message'];

/**
 * Events that only repeat where the stream stands (a shared stream's opening, heartbeats):
 * they move where the client resumes from, not the `lastEventId` it shows the app.
 */
const POSITION_EVENT_TYPES: ReadonlySet<string> = new Set([CONNECTED, HEARTBEAT]);

/** Events whose data the client decodes even without a handler. */
const CONTROL_EVENT_TYPES: ReadonlySet<string> = new Set([RESET, AUTH_EXPIRED]);

/** Why a recovery (a replacement EventSource after the backoff) started. */
type RecoveryReason = Extract<SseStatusReason, 'refused' | 'auth-expired' | 'token-failed' | 'dropped'>;
/** Why the client gave up for good. */
type GiveUpReason = Extract<SseStatusReason, 'gave-up' | 'no-session' | 'url-refused' | 'forbidden' | 'unauthorized'>;

/** What a `HEAD` of the stream URL answered: its status, and a 401's category (`SSE-Auth-Reason`). */
interface ProbeAnswer {
  status: number;
  reason: string | undefined;
}

/**
 * A connection counts as healthy (and resets the backoff) once it delivered an event
 * other than `auth-expired`, or stayed open this long.
 */
export const HEALTHY_AFTER_MS = 5_000;

type AnyHandler = SseHandler<unknown>;
type Listener = (event: Event) => void;

/**
 * How a shared stream's leader drives the client that holds the real EventSource.
 * @internal
 */
interface SseLeaderInternals {
  /** Receives every event, data untagged, after this client handled it (`auth-expired`: it is already recovering). */
  relay: (event: SseRelayedEvent) => void;
  /**
   * Ask for a shared stream (`?shared=1`): topic events tagged with their topic (the stream
   * carries several members' topics), and the opening sent as a `connected` event whose id
   * is the stream's position, so a hand-over resumes from there even before any event.
   */
  shared: boolean;
  /** Event types to listen to besides the built-in ones: what the members handle. */
  listen: Iterable<string>;
  /** Every status change, with the error it gave up on (for `error`); also during construction. */
  status: (status: SseStatus, reason: SseStatusReason, error: SseClientError | undefined) => void;
  /** A token `getToken()` gave: the leader's next stream (a restart) starts with it. */
  token: (token: string) => void;
}

/** A shared client's new stream (as leader, or solo) reuses a token this recent; an older one is renewed first (`getToken`). */
const LEADER_TOKEN_REUSE_MS = 60_000;

/**
 * Per-user Server-Sent Events over the browser's EventSource, with typed handlers,
 * JSON decoding, a status, and recovery when the EventSource gives up.
 *
 * Connects on construction. The browser reconnects by itself after a dropped stream
 * (`reconnecting`, keeping Last-Event-ID); when the EventSource fails for good
 * (readyState CLOSED: 401, 429, 503...), the client waits a backoff, asks `getToken()`
 * for a fresh token and opens a new EventSource with `?lastEventId=`.
 *
 * With `getTicket()` (the recommended browser flow: no token in any URL), every
 * connection asks for a new single-use ticket first, and a dropped stream is
 * replaced by the client after the backoff rather than by the browser, whose own
 * reconnect would present the spent ticket again.
 *
 * `topics` are subscribed to by every connection: in the stream URL, or in the
 * ticket request. A 403 stops the client when it can see the status (the ticket
 * request, or an EventSource that reports it); a browser's EventSource cannot, so
 * there a 403 is retried like any refusal, with the backoff and up to `maxRecoveries`.
 *
 * In a browser page the stream is shared by default (`share`): the clients of every
 * tab with the same URL and share key elect one leader that holds the only
 * EventSource and relays its events; see `SseShareOptions`.
 */
export class SseClient<TEvents extends object = SseEventMap> {
  /** The URL given, without the `token` / `ticket` / `lastEventId` the client adds. */
  readonly url: string;
  /** The topics every connection subscribes to: checked, without duplicates. */
  readonly topics: readonly string[];

  private readonly options: SseClientOptions<TEvents>;
  private readonly EventSourceImpl: SseEventSourceConstructor;
  private readonly backoff: SseBackoff;
  private readonly maxRecoveries: number;
  private readonly maxAuthFailures: number;
  private readonly handlers = new Map<string, Set<AnyHandler>>();
  private readonly listenedTypes = new Set<string>(BUILT_IN_EVENT_TYPES);

  private currentStatus: SseStatus = 'connecting';
  private currentStatusReason: SseStatusReason | undefined;
  private currentError: SseClientError | undefined;
  private currentLastEventId: string | undefined;
  /** Where the stream stands: `lastEventId`, or a newer id of a position-only event (`POSITION_EVENT_TYPES`). Resumed from. */
  private position: string | undefined;
  private token: string | undefined;

  private source: SseEventSourceLike | undefined;
  private sourceListeners: Array<[string, Listener]> = [];
  private openedAt: number | undefined;
  /** Whether a connection was healthy since the last recovery. */
  private healthy = false;
  /** Consecutive recoveries since the last healthy connection. */
  private attempts = 0;
  /**
   * Consecutive 401s since a connection last opened or a ticket was obtained (`maxAuthFailures`);
   * once a ticket's stream was refused for another reason than the ticket, only an opening resets it.
   */
  private authFailures = 0;
  /** A ticket's stream was refused with a 401 that was not the ticket's (found by `checkRefusal`), and none opened since. */
  private ticketStreamsRefused = false;
  /** Connections opened so far: a probe's answer that comes after a newer one opened is stale. */
  private openings = 0;
  /** The `HEAD` asked after the last refusal, while no connection opened since: the share's `probe()` reuses it. */
  private refusalProbe: Promise<ProbeAnswer | undefined> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** This client's membership of a shared stream; `undefined` when it opens its own. */
  private share: SseTabShare | undefined;
  /** When `token` was given or last renewed. */
  private tokenAt = Date.now();
  /** The URL of the last EventSource opened (credential included): for `probe()`. */
  private sourceUrl: string | undefined;
  private readonly topicSet: ReadonlySet<string>;
  private readonly ignoredByShare = {
    malformedMessages: 0,
    untrustedMessages: 0,
    lastIgnored: undefined as string | undefined,
  };

  /** @param internals The leader's hooks when this client holds a shared stream; not for apps. */
  constructor(
    url: string | URL,
    options: SseClientOptions<TEvents> = {},
    private readonly internals?: SseLeaderInternals,
  ) {
    this.url = String(url);
    this.options = options;
    const EventSourceImpl =
      options.EventSource ?? (globalThis as { EventSource?: SseEventSourceConstructor }).EventSource;
    if (typeof EventSourceImpl !== 'function') {
      throw new SseClientError(
        'unsupported',
        'No EventSource implementation: pass options.EventSource or run in a browser',
      );
    }
    this.EventSourceImpl = EventSourceImpl;
    this.backoff = resolveBackoff(options.backoff);
    const maxRecoveries = options.maxRecoveries ?? Number.POSITIVE_INFINITY;
    if (typeof maxRecoveries !== 'number' || Number.isNaN(maxRecoveries) || maxRecoveries < 0) {
      throw new RangeError(`maxRecoveries must be a number >= 0, got ${String(maxRecoveries)}`);
    }
    this.maxRecoveries = maxRecoveries;
    const maxAuthFailures = options.maxAuthFailures ?? DEFAULT_MAX_AUTH_FAILURES;
    if (typeof maxAuthFailures !== 'number' || Number.isNaN(maxAuthFailures) || maxAuthFailures < 1) {
      throw new RangeError(`maxAuthFailures must be a number >= 1, got ${String(maxAuthFailures)}`);
    }
    this.maxAuthFailures = maxAuthFailures;
    if (options.getTicket !== undefined && (options.token !== undefined || options.getToken !== undefined)) {
      // Which one the URL would carry would be a guess: a ticket exists to keep the token out of it.
      throw new TypeError('Pass getTicket, or token / getToken, not both: the ticket replaces the token in the URL');
    }
    this.topics = resolveTopics(options.topics);
    this.topicSet = new Set(this.topics);
    this.token = options.token;
    this.currentLastEventId = options.lastEventId || undefined;
    this.position = this.currentLastEventId;
    if (internals) for (const type of internals.listen) this.listenedTypes.add(type);
    const handlers = (options.handlers ?? {}) as Record<string, AnyHandler | undefined>;
    for (const [type, handler] of Object.entries(handlers)) {
      if (handler) this.on(type, handler);
    }
    const shareParts = internals ? undefined : resolveShareParts(this.url, options.share);
    if (shareParts) {
      this.share = new SseTabShare(this.shareHost(), shareParts);
      this.share.start();
    } else {
      void this.connect(this.token === undefined);
    }
  }

  /**
   * This client's part in a shared stream: `leader` (it holds the EventSource),
   * `follower` (it receives the leader's events), or `none` (it opens its own stream).
   */
  get shareRole(): SseShareRole {
    if (!this.share || this.stopped) return 'none';
    return this.share.isLeader ? 'leader' : 'follower';
  }

  /**
   * What this client's share channel carried that it did not act on: malformed messages,
   * and well-formed ones not from the leader it follows (see `SseShareStats`). Kept after it
   * goes solo; zeros for a client that never shared.
   */
  get shareStats(): SseShareStats {
    return { ...this.ignoredByShare };
  }

  get status(): SseStatus {
    return this.currentStatus;
  }

  /** Why the status last changed; `undefined` while the first connection is under way. */
  get statusReason(): SseStatusReason | undefined {
    return this.currentStatusReason;
  }

  /**
   * The id of the last event received (or the initial `lastEventId` option). A shared
   * stream's opening (`connected`) and `heartbeat` events do not move it: their id only
   * repeats where the stream stands, which may be another user's newest event (the client
   * still resumes from there).
   */
  get lastEventId(): string | undefined {
    return this.currentLastEventId;
  }

  /** The latest error reported through `onError`; cleared when a connection opens. */
  get error(): SseClientError | undefined {
    return this.currentError;
  }

  /**
   * Adds a handler for an event type (also after construction); returns a function
   * that removes it. `open` and `error` are the EventSource's own events and are refused.
   */
  on<K extends string>(type: K, handler: SseHandler<SseEventData<TEvents, K>>): () => void {
    if (typeof type !== 'string' || type === '' || EVENTSOURCE_OWN_TYPES.has(type)) {
      throw new TypeError(`Cannot handle SSE event type ${JSON.stringify(type)}`);
    }
    let set = this.handlers.get(type);
    if (!set) {
      set = new Set();
      this.handlers.set(type, set);
    }
    set.add(handler as AnyHandler);
    if (this.listenTo(type)) this.share?.needsChanged();
    const handlers = set;
    return () => {
      handlers.delete(handler as AnyHandler);
    };
  }

  /** Closes the stream for good and cancels any pending recovery. Idempotent. A shared stream's leader hands it over. */
  close(): void {
    if (this.currentStatus === 'closed') return;
    this.clearTimer();
    this.dropSource();
    this.setStatus('closed', 'closed');
    // After the status: a closed client's role is `none`, and reports no change on the way.
    this.share?.stop();
  }

  /** Listens to `type` on the current and later EventSources; whether it is new. */
  private listenTo(type: string): boolean {
    if (this.listenedTypes.has(type)) return false;
    this.listenedTypes.add(type);
    if (this.source) this.listen(this.source, type, this.messageListener(this.source, type));
    return true;
  }

  private get stopped(): boolean {
    return isFinal(this.currentStatus);
  }

  /**
   * Opens an EventSource: with `getTicket`, on a new ticket every time (the last
   * one was spent by the connection it opened); else with the token, first asking
   * `getToken()` for a fresh one when `refreshToken`.
   */
  private async connect(refreshToken: boolean): Promise<void> {
    const { getTicket, getToken } = this.options;
    if (getTicket) {
      const ticket = await this.ask('getTicket', () => getTicket({ topics: this.topics }));
      if (ticket === undefined) return;
      // The server took the credential for this ticket: a 401 on its stream is the ticket's, not the token's.
      // Unless its streams keep answering 401 for another reason (a route that does not take tickets):
      // a new ticket each round would otherwise retry such a route forever.
      if (!this.ticketStreamsRefused) this.authFailures = 0;
      this.openSource({ ticket, shared: this.internals?.shared });
      return;
    }
    if (refreshToken && getToken) {
      const token = await this.ask('getToken', getToken);
      if (token === undefined) return;
      this.token = token;
      this.internals?.token(token);
    }
    this.openSource({ token: this.token, topics: this.topics, shared: this.internals?.shared });
  }

  /**
   * What `getToken()` / `getTicket()` resolved to, or `undefined` when it failed
   * (a recovery with backoff, or giving up on `null` or a 403, is then under way) or the
   * client was closed meanwhile.
   */
  private async ask(name: 'getToken' | 'getTicket', source: SseGetToken): Promise<string | undefined> {
    let value: unknown;
    try {
      value = await source();
    } catch (err) {
      if (!this.stopped) {
        const httpStatus = err instanceof SseClientError ? err.httpStatus : undefined;
        const reason = err instanceof SseClientError ? err.reason : undefined;
        const failure = new SseClientError('token', `${name}() failed: ${messageOf(err)}`, {
          httpStatus,
          reason,
          cause: err,
        });
        if (httpStatus === FORBIDDEN) this.giveUp('forbidden', failure);
        else if (httpStatus !== UNAUTHORIZED || !this.authFailed(failure)) this.recover('token-failed', failure);
      }
      return undefined;
    }
    if (this.stopped) return undefined;
    if (value === null) {
      this.giveUp('no-session', new SseClientError('token', `${name}() returned null (no session): not reconnecting`));
      return undefined;
    }
    if (typeof value !== 'string' || value === '') {
      this.recover(
        'token-failed',
        new SseClientError('token', `${name}() must resolve to a non-empty string or null, got ${describe(value)}`),
      );
      return undefined;
    }
    return value;
  }

  /** With a ticket, `topics` are left out: the ticket carries them. */
  private openSource(params: { token?: string; ticket?: string; topics?: readonly string[]; shared?: boolean }): void {
    const url = buildStreamUrl(this.url, { ...params, lastEventId: this.position });
    this.sourceUrl = url;
    let source: SseEventSourceLike;
    try {
      source = new this.EventSourceImpl(url, { withCredentials: this.options.withCredentials ?? false });
    } catch (err) {
      // A URL the EventSource refuses will not get better by retrying.
      this.giveUp(
        'url-refused',
        new SseClientError('connection', `Could not create an EventSource for ${this.url}: ${messageOf(err)}`, {
          cause: err,
        }),
      );
      return;
    }
    this.source = source;
    this.listen(source, 'open', () => this.handleOpen(source));
    this.listen(source, 'error', (event) => this.handleError(source, event));
    for (const type of this.listenedTypes) this.listen(source, type, this.messageListener(source, type));
  }

  private listen(source: SseEventSourceLike, type: string, listener: Listener): void {
    source.addEventListener(type, listener);
    this.sourceListeners.push([type, listener]);
  }

  private messageListener(source: SseEventSourceLike, type: string): Listener {
    return (event) => this.handleMessage(source, type, event as MessageEvent<string>);
  }

  private handleOpen(source: SseEventSourceLike): void {
    if (source !== this.source) return;
    this.openedAt = Date.now();
    this.openings += 1;
    this.authFailures = 0;
    this.ticketStreamsRefused = false;
    this.refusalProbe = undefined;
    this.currentError = undefined;
    this.setStatus('open', 'opened');
  }

  private handleError(source: SseEventSourceLike, event: Event): void {
    if (source !== this.source) return;
    this.noteDisconnected();
    if (source.readyState === CLOSED) {
      const failure = this.connectionError(event);
      if (failure.httpStatus === FORBIDDEN) {
        this.giveUp('forbidden', failure);
        return;
      }
      const mayBeAuth = failure.httpStatus === undefined || failure.httpStatus === UNAUTHORIZED;
      // A browser's EventSource does not say why: a HEAD of the same URL does (and a 401's category).
      // With a ticket too, the spent one: the module's route answers 401 `ticket` (not counted: the
      // ticket request checked the credential), a route that ignores tickets another reason (counted).
      const probe = mayBeAuth ? this.probeRefusal() : undefined;
      // Without a probe, a ticket's 401 cannot be told apart from the ticket's own: not counted.
      if (
        !this.options.getTicket &&
        mayBeAuth &&
        !probe &&
        failure.httpStatus === UNAUTHORIZED &&
        this.authFailed(failure)
      )
        return;
      this.recover('refused', failure);
      if (probe) void this.checkRefusal(probe, failure);
    } else if (this.options.getTicket) {
      // The browser would reconnect with the spent ticket (a 401): replace it with a new one instead.
      this.recover('dropped');
    } else {
      // CONNECTING: the browser reconnects by itself, sending Last-Event-ID.
      this.setStatus('reconnecting', 'dropped');
    }
  }

  private handleMessage(source: SseEventSourceLike, type: string, event: MessageEvent<string>): void {
    if (source !== this.source) return;
    // A shared stream's opening event says nothing of its health: an auth-expired right after it still backs off.
    if (type !== AUTH_EXPIRED && type !== CONNECTED) this.healthy = true;
    const relay = this.internals?.relay;
    if (!relay) {
      this.dispatch(type, event.data, event, true);
      return;
    }
    const tagged = this.internals?.shared ? untagTopicData(event.data) : { topic: undefined, data: event.data };
    const id = typeof event.lastEventId === 'string' ? event.lastEventId : '';
    this.dispatch(type, tagged.data, event, true);
    // A topic no member asked for was added by the route itself (its URL names it, and every
    // member shares the URL): relayed untagged, to all of them.
    const topic = tagged.topic !== undefined && this.topicSet.has(tagged.topic) ? tagged.topic : undefined;
    relay({ type, data: tagged.data, id, topic });
  }

  /**
   * One event of a shared stream, relayed by its leader: dispatched as if this client had
   * received it, unless it belongs to a topic this client did not ask for, or it is not
   * after the last id this client saw (a hand-over or a member's rewind repeats events).
   */
  private receiveRelayed(relayed: SseRelayedEvent): void {
    if (this.stopped) return;
    if (relayed.topic !== undefined && !this.topicSet.has(relayed.topic)) return;
    // Heartbeat events and auth-expired repeat the last id, a reset the opening's: not repeats of an event.
    const repeatsId = relayed.type === HEARTBEAT || relayed.type === AUTH_EXPIRED || relayed.type === RESET;
    if (!repeatsId && relayed.id !== '' && !isAfter(relayed.id, this.position)) return;
    const event = new MessageEvent<string>(relayed.type, { data: relayed.data, lastEventId: relayed.id });
    this.dispatch(relayed.type, relayed.data, event, false);
  }

  /**
   * Moves `lastEventId`, decodes the data and runs the callbacks and handlers. `own`: this
   * client's EventSource received the event, so `auth-expired` is its own to recover from.
   */
  private dispatch(type: string, text: string, event: MessageEvent<string>, own: boolean): void {
    const id = event.lastEventId;
    if (typeof id === 'string' && id !== '') {
      if (id !== this.position) {
        this.position = id;
        const onPosition = this.options.onPosition;
        if (onPosition) this.callback('onPosition', () => onPosition(id));
      }
      if (!POSITION_EVENT_TYPES.has(type) && id !== this.currentLastEventId) {
        this.currentLastEventId = id;
        const onLastEventId = this.options.onLastEventId;
        if (onLastEventId) this.callback('onLastEventId', () => onLastEventId(id));
      }
    }

    const handlers = this.handlers.get(type);
    if (!CONTROL_EVENT_TYPES.has(type) && (!handlers || handlers.size === 0)) return;

    let data: unknown;
    let parsed = true;
    try {
      data = JSON.parse(text);
    } catch (err) {
      parsed = false;
      this.report(
        new SseClientError('parse', `Could not parse the data of a "${type}" event as JSON: ${messageOf(err)}`, {
          eventType: type,
          cause: err,
        }),
      );
    }

    if (type === AUTH_EXPIRED) {
      // The server closes the stream next; a browser reconnect would reuse the expired token.
      if (own) this.recover('auth-expired');
      const onAuthExpired = this.options.onAuthExpired;
      if (onAuthExpired) this.callback('onAuthExpired', () => onAuthExpired(reasonOf(data), event), type);
    } else if (type === RESET) {
      const onReset = this.options.onReset;
      if (onReset) this.callback('onReset', () => onReset(reasonOf(data), event), type);
    }

    if (!parsed) return;
    for (const handler of [...(handlers ?? [])]) {
      if (this.currentStatus === 'closed') return;
      this.callback(`"${type}" handler`, () => handler(data, event), type);
    }
  }

  /** What the share asks of this client: its needs, its dispatch, its status, and the leader's stream. */
  private shareHost(): SseShareHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the lastEventId getter below has the returned object as this, not the client
    const client = this;
    return {
      topics: this.topics,
      get lastEventId() {
        return client.position;
      },
      handledTypes: () => [...this.handlers.keys()],
      receive: (event) => this.receiveRelayed(event),
      mirrorStatus: (status, reason, error) => this.mirrorStatus(status, reason, error),
      mirrorError: (error) => {
        if (!this.stopped) this.report(error);
      },
      roleChanged: () => this.reportShareRole(),
      ignored: (kind, reason) => {
        if (kind === 'malformed') this.ignoredByShare.malformedMessages += 1;
        else this.ignoredByShare.untrustedMessages += 1;
        this.ignoredByShare.lastIgnored = reason;
      },
      goSolo: () => {
        this.share?.stop();
        this.share = undefined;
        this.reportShareRole();
        if (!this.stopped) void this.connect(this.token === undefined || this.tokenIsStale());
      },
      openLeaderStream: (topics, types, lastEventId, relay) => this.openLeaderStream(topics, types, lastEventId, relay),
    };
  }

  /** Whether a new stream of this shared client should renew its token first (it can, and the token is not recent). */
  private tokenIsStale(): boolean {
    return this.options.getToken !== undefined && Date.now() - this.tokenAt > LEADER_TOKEN_REUSE_MS;
  }

  private reportShareRole(): void {
    const onShareRole = this.options.onShareRole;
    const role = this.shareRole;
    if (onShareRole && !this.stopped) this.callback('onShareRole', () => onShareRole(role));
  }

  /** The shared stream's status is this client's, except closing (its own, by `close()`). */
  private mirrorStatus(status: SseStatus, reason: SseStatusReason, error?: SseClientError): void {
    if (this.stopped || status === 'closed') return;
    if (status === 'open') this.currentError = undefined;
    if (error) this.currentError = error;
    // The leader's stream starting again (`connecting`) is, for a client that was open, a reconnect.
    this.setStatus(status === 'connecting' ? 'reconnecting' : status, reason);
    if (!isFinal(status)) return;
    // The leader gave up: so does every member, as its own stream would have (status, then error).
    if (error) this.emitError(error);
    this.share?.stop();
  }

  /** This client leads its shared stream: a client of its own, unshared, holds the EventSource. */
  private openLeaderStream(
    topics: readonly string[],
    types: Iterable<string>,
    lastEventId: string | undefined,
    relay: SseLeaderRelay,
  ): SseLeaderStream {
    const { getToken, getTicket, withCredentials, backoff, maxRecoveries, maxAuthFailures, EventSource } = this.options;
    const inner = new SseClient<TEvents>(
      this.url,
      {
        // A new leader's stream (a hand-over, a restart for topics) asks for a fresh token when
        // it can and this client's is not recent: it may be the one it was created with, hours ago.
        token: this.tokenIsStale() ? undefined : this.token,
        getToken,
        getTicket,
        withCredentials,
        backoff,
        maxRecoveries,
        maxAuthFailures,
        EventSource,
        topics,
        lastEventId,
        share: false,
        onError: (error) => relay.error(error),
      },
      {
        relay: (event) => relay.event(event),
        shared: true,
        listen: types,
        status: (status, reason, error) => relay.status(status, reason, error),
        token: (token) => {
          this.token = token;
          this.tokenAt = Date.now();
        },
      },
    );
    return {
      get status() {
        return inner.status;
      },
      get lastEventId() {
        return inner.position;
      },
      listenTo: (type) => void inner.listenTo(type),
      probe: () => inner.probe(),
      close: () => inner.close(),
    };
  }

  /**
   * Replaces the EventSource after a failure (or `auth-expired`, which is none):
   * backoff, then `getToken()`, then a new EventSource resuming from `lastEventId`.
   */
  private recover(reason: RecoveryReason, failure?: SseClientError): void {
    this.clearTimer();
    this.dropSource();
    if (this.healthy) {
      this.healthy = false;
      this.attempts = 0;
    }
    if (this.attempts >= this.maxRecoveries) {
      const last = failure ? `: ${failure.message}` : '';
      this.giveUp(
        'gave-up',
        new SseClientError('gave-up', `Gave up after ${this.attempts} recoveries${last}`, {
          cause: failure ?? this.currentError,
        }),
      );
      return;
    }
    // Never below MIN_RECOVERY_DELAY_MS: no hot loop.
    const delay = backoffDelay(this.attempts, this.backoff);
    this.attempts += 1;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!this.stopped) void this.connect(true);
    }, delay);
    if (failure) this.currentError = failure;
    this.setStatus('reconnecting', reason);
    if (failure) this.emitError(failure);
  }

  private giveUp(reason: GiveUpReason, error: SseClientError): void {
    this.clearTimer();
    this.dropSource();
    this.currentError = error;
    this.setStatus(reason === 'unauthorized' ? 'unauthorized' : 'error', reason);
    this.emitError(error);
  }

  /**
   * Counts a 401 (`failure`); at `maxAuthFailures` in a row the client stops with status
   * `unauthorized` (each attempt had the freshest credential it could get: retrying will not
   * help, the user must sign in again). Whether it stopped.
   */
  private authFailed(failure: SseClientError): boolean {
    this.authFailures += 1;
    if (this.authFailures < this.maxAuthFailures) return false;
    const reason = failure.reason;
    const why = reason === undefined ? '' : ` (${reason})`;
    this.giveUp(
      'unauthorized',
      new SseClientError(
        'unauthorized',
        `The server refused the credential ${this.authFailures} times in a row: HTTP 401${why}; not reconnecting`,
        {
          httpStatus: UNAUTHORIZED,
          reason,
          cause: failure,
        },
      ),
    );
    return true;
  }

  /** A `HEAD` of the refused stream's URL, kept for the share's `probe()`; `undefined` when none can be asked. */
  private probeRefusal(): Promise<ProbeAnswer | undefined> | undefined {
    const url = this.sourceUrl;
    if (url === undefined || !this.canProbe()) return undefined;
    this.refusalProbe = this.head(url);
    return this.refusalProbe;
  }

  /**
   * What the probe found, once it answers: a 401 counts (with its category), unless a connection
   * opened since. With a ticket, only a 401 whose category is known and is not `ticket`: the stream
   * refused the credential itself (a route that does not take tickets), not the spent ticket.
   */
  private async checkRefusal(probe: Promise<ProbeAnswer | undefined>, failure: SseClientError): Promise<void> {
    const openings = this.openings;
    const answer = await probe;
    if (this.stopped || this.openings !== openings) return;
    const status = answer?.status ?? failure.httpStatus;
    if (status !== UNAUTHORIZED) return;
    const reason = answer?.reason;
    if (this.options.getTicket) {
      if (reason === undefined || reason === TICKET_REASON) return;
      this.ticketStreamsRefused = true;
    }
    const found = new SseClientError(
      'connection',
      `The event stream at ${this.url} was refused: HTTP 401${reason === undefined ? '' : ` (${reason})`}`,
      { httpStatus: UNAUTHORIZED, reason },
    );
    if (!this.authFailed(found)) this.currentError = found;
  }

  private dropSource(): void {
    const source = this.source;
    if (!source) return;
    this.source = undefined;
    for (const [type, listener] of this.sourceListeners) source.removeEventListener(type, listener);
    this.sourceListeners = [];
    source.close();
    this.noteDisconnected();
  }

  private noteDisconnected(): void {
    if (this.openedAt !== undefined && Date.now() - this.openedAt >= HEALTHY_AFTER_MS) this.healthy = true;
    this.openedAt = undefined;
  }

  private clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private connectionError(event: Event): SseClientError {
    const code = (event as { code?: unknown }).code;
    const httpStatus = typeof code === 'number' ? code : undefined;
    const message =
      httpStatus === undefined
        ? `The event stream at ${this.url} failed (an HTTP error such as 401, 429 or 503, or a network failure the EventSource gave up on)`
        : `The event stream at ${this.url} failed with HTTP ${httpStatus}`;
    return new SseClientError('connection', message, { httpStatus });
  }

  private setStatus(next: SseStatus, reason: SseStatusReason): void {
    const previous = this.currentStatus;
    if (previous === next) return;
    this.currentStatus = next;
    this.currentStatusReason = reason;
    const onStatus = this.options.onStatus;
    if (onStatus) this.callback('onStatus', () => onStatus(next, previous, reason));
    this.internals?.status(next, reason, isFinal(next) ? this.currentError : undefined);
  }

  /**
   * What the stream's URL answers to a `HEAD` now (`undefined`: not asked, or no answer).
   * A ticket is spent by its stream, so with `getTicket` nothing is asked (a ticket
   * request says 403 itself).
   */
  private async probe(): Promise<number | undefined> {
    const url = this.sourceUrl;
    if (this.refusalProbe) return (await this.refusalProbe)?.status;
    if (url === undefined || this.options.getTicket || !this.canProbe()) return undefined;
    return (await this.head(url))?.status;
  }

  /**
   * Whether a `HEAD` of the stream URL can be asked: only with `fetch`. With a ticket, only after a
   * refusal (`probeRefusal`): a `HEAD` looks at a ticket without spending it, and the refused stream's is spent.
   */
  private canProbe(): boolean {
    return typeof (globalThis as { fetch?: unknown }).fetch === 'function';
  }

  private async head(url: string): Promise<ProbeAnswer | undefined> {
    try {
      const res = await fetch(url, {
        method: 'HEAD',
        cache: 'no-store',
        credentials: this.options.withCredentials ? 'include' : 'same-origin',
      });
      // A fetch stand-in may answer without headers: the status is what matters most.
      return { status: res.status, reason: readAuthReason(res.headers?.get?.(SSE_AUTH_REASON_HEADER)) };
    } catch {
      return undefined;
    }
  }

  private report(error: SseClientError): void {
    this.currentError = error;
    this.emitError(error);
  }

  private emitError(error: SseClientError): void {
    const onError = this.options.onError;
    if (onError) {
      try {
        onError(error);
      } catch (err) {
        rethrowLater(err);
      }
    } else if (error.code === 'handler') {
      // Nobody listens for errors: do not swallow a bug in the app's own code.
      rethrowLater(error.cause);
    }
  }

  /** Runs one of the app's callbacks; what it throws is reported, never breaks the client. */
  private callback(name: string, run: () => void, eventType?: string): void {
    try {
      run();
    } catch (err) {
      this.report(
        new SseClientError('handler', `The ${name} callback threw: ${messageOf(err)}`, { eventType, cause: err }),
      );
    }
  }
}

/** Creates an `SseClient` (which connects right away). */
export function createSseClient<TEvents extends object = SseEventMap>(
  url: string | URL,
  options?: SseClientOptions<TEvents>,
): SseClient<TEvents> {
  return new SseClient<TEvents>(url, options);
}

/** A status the client does not leave: it stopped (`close()`, gave up, or refused for good). */
function isFinal(status: SseStatus): boolean {
  return status === 'closed' || status === 'error' || status === 'unauthorized';
}

function reasonOf(data: unknown): SseResetData & SseAuthExpiredData {
  const reason = (data as { reason?: unknown } | null | undefined)?.reason;
  return { reason: typeof reason === 'string' ? reason : 'unknown' };
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function describe(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : typeof value;
}

function rethrowLater(err: unknown): void {
  setTimeout(() => {
    throw err;
  }, 0);
}
