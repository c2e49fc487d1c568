import type { Observable, Observer, Subscription } from 'rxjs';

/**
 * Orders three moments: an `@SseRoute()` handler's start, the making of a stream
 * without a request (`SseService.stream()` / `openStream()` called), and the
 * start of the sink's subscribe. One number per stream, nothing per event.
 */
let clock = 0;

/** A tick of that clock: when a route's handler starts, or when a stream without a request is made. */
export function tick(): number {
  return ++clock;
}

/** The route's request whose Observable `subscribeForRequest()` is subscribing, while it does. */
interface SinkSubscription {
  readonly request: object;
  /** When the route's handler started: a stream made before (a shared `broadcast$`) is not the route's. */
  readonly since: number;
  /** When the sink's subscribe started: a stream made during it (a lifecycle listener's) is not the route's. */
  readonly until: number;
}

let subscribing: SinkSubscription | undefined;

/**
 * Subscribes a route's Observable for its request (the `@SseRoute()` sink), so
 * that the module's streams the handler made without `request` know it: they
 * resume from its `Last-Event-ID` header or `lastEventId` parameter, and say
 * `slow_client` when the sink dropped them. The rule (see `requestForStream`):
 * a stream takes the request only when it was made while this route's handler
 * ran (from `handlerStartedAt` until this call), and is subscribed in this call;
 * how the handler wrapped it (`pipe`, `concat`, `defer`) does not matter, but
 * what is subscribed later (after a timer, a Promise) gets no request. The
 * request is set for the synchronous subscribe only, and put back after it,
 * even when it throws; nothing per event.
 */
export function subscribeForRequest<T>(
  request: object,
  handlerStartedAt: number,
  stream: Observable<T>,
  observer: Partial<Observer<T>>,
): Subscription {
  const outer = subscribing;
  subscribing = { request, since: handlerStartedAt, until: tick() };
  try {
    return stream.subscribe(observer);
  } finally {
    subscribing = outer;
  }
}

/** The request of the route whose Observable is being subscribed (see `subscribeForRequest`), if any. */
export function subscribingRequest(): object | undefined {
  return subscribing?.request;
}

/**
 * The route's request a stream made without one (at `madeAt`, a `tick()`) stands in
 * for, as it is subscribed: the request being subscribed for, when the stream was made
 * after that route's handler started and before its sink began subscribing; else none.
 * So a stream made outside the handler (shared by several requests through `share()`,
 * or made by a lifecycle listener or a `switchMap` during the subscribe) never resumes
 * from a route's `Last-Event-ID`, nor keeps its request or reports its `slow_client`.
 */
export function requestForStream(madeAt: number | undefined): object | undefined {
  const current = subscribing;
  if (current === undefined || madeAt === undefined) return undefined;
  return current.since < madeAt && madeAt < current.until ? current.request : undefined;
}
