import type { Observable, Observer, Subscription } from 'rxjs';

/** The route request whose Observable `subscribeForRequest()` is subscribing, while it does. */
let subscribingFor: object | undefined;

/**
 * Subscribes a route's Observable for its request (the `@SseRoute()` sink), so
 * that the module's streams reached by this subscription know the request even
 * when the handler did not give it to `SseService.stream()` / `openStream()`:
 * they resume from its `Last-Event-ID` header or `lastEventId` parameter, and
 * say `slow_client` when the sink dropped them. It holds however the handler
 * wrapped the stream (`pipe`, `concat`, `defer`), for what is subscribed in
 * this call: not what a handler's Observable subscribes only later (after a
 * timer, a Promise). Costs one variable per subscription, nothing per event.
 */
export function subscribeForRequest<T>(request: object, stream: Observable<T>, observer: Partial<Observer<T>>): Subscription {
  const outer = subscribingFor;
  subscribingFor = request;
  try {
    return stream.subscribe(observer);
  } finally {
    subscribingFor = outer;
  }
}

/** The request of the route whose Observable is being subscribed (see `subscribeForRequest`), if any. */
export function subscribingRequest(): object | undefined {
  return subscribingFor;
}
