import { defer, Observable, of } from 'rxjs';

import { requestForStream, subscribeForRequest, subscribingRequest, tick } from './sse-subscription.context.js';

/** An Observable that records, as it is subscribed, the request the sink subscribes it for. */
function recording(seen: Array<object | undefined>, inner?: () => void): Observable<number> {
  return defer(() => {
    seen.push(subscribingRequest());
    inner?.();
    seen.push(subscribingRequest());
    return of(1);
  });
}

/** What a stream made at `madeAt` is given as it is subscribed. */
function given(madeAt: number, seen: Array<object | undefined>): Observable<number> {
  return defer(() => {
    seen.push(requestForStream(madeAt));
    return of(1);
  });
}

describe('subscribeForRequest', () => {
  const outer = { name: 'outer' };
  const inner = { name: 'inner' };

  it('gives the request to what is subscribed in the call, and none after it', () => {
    const seen: Array<object | undefined> = [];
    expect(subscribingRequest()).toBeUndefined();
    subscribeForRequest(outer, tick(), recording(seen), {});
    expect(seen).toEqual([outer, outer]);
    expect(subscribingRequest()).toBeUndefined();
  });

  it('puts the outer request back after an inner call for another request', () => {
    const seen: Array<object | undefined> = [];
    const innerSeen: Array<object | undefined> = [];
    subscribeForRequest(
      outer,
      tick(),
      recording(seen, () => subscribeForRequest(inner, tick(), recording(innerSeen), {})),
      {},
    );
    expect(innerSeen).toEqual([inner, inner]);
    // Before and after the inner call, the outer request.
    expect(seen).toEqual([outer, outer]);
    expect(subscribingRequest()).toBeUndefined();
  });

  it('puts the outer request back when an inner subscribe throws, and none when the outer one throws', () => {
    // rxjs hands an error of the subscribe function to the observer; a subscribe that throws
    // itself (a broken Observable-like, an error the rxjs config rethrows) leaves the call by throwing.
    const throwing = {
      subscribe: () => {
        throw new Error('thrown as it is subscribed');
      },
    } as unknown as Observable<number>;
    const seen: Array<object | undefined> = [];
    subscribeForRequest(
      outer,
      tick(),
      recording(seen, () => {
        expect(() => subscribeForRequest(inner, tick(), throwing, {})).toThrow('thrown as it is subscribed');
      }),
      {},
    );
    expect(seen).toEqual([outer, outer]);
    expect(subscribingRequest()).toBeUndefined();

    expect(() => subscribeForRequest(outer, tick(), throwing, {})).toThrow('thrown as it is subscribed');
    expect(subscribingRequest()).toBeUndefined();
  });
});

describe("requestForStream: the request stands in only for a stream made while its route's handler ran", () => {
  const request = { name: 'A' };

  it('gives it to a stream made after the handler started and before the sink subscribed it', () => {
    const handlerStartedAt = tick();
    const made = tick();
    const seen: Array<object | undefined> = [];
    subscribeForRequest(request, handlerStartedAt, given(made, seen), {});
    expect(seen).toEqual([request]);
  });

  it('not to a stream made before the handler started (one shared by several requests)', () => {
    const shared = tick();
    const handlerStartedAt = tick();
    const seen: Array<object | undefined> = [];
    subscribeForRequest(request, handlerStartedAt, given(shared, seen), {});
    expect(seen).toEqual([undefined]);
  });

  it('not to a stream made during the subscribe (a lifecycle listener, a switchMap reacting to it)', () => {
    const handlerStartedAt = tick();
    const seen: Array<object | undefined> = [];
    subscribeForRequest(
      request,
      handlerStartedAt,
      defer(() => given(tick(), seen)),
      {},
    );
    expect(seen).toEqual([undefined]);
  });

  it('not to one without its making time (given a request, or not made by SseService), nor once the subscribe returned', () => {
    const handlerStartedAt = tick();
    const made = tick();
    const seen: Array<object | undefined> = [];
    subscribeForRequest(
      request,
      handlerStartedAt,
      defer(() => (seen.push(requestForStream(undefined)), of(1))),
      {},
    );
    expect(seen).toEqual([undefined]);
    // The handler's own stream, subscribed later (a timer, the test harness): no request.
    expect(requestForStream(made)).toBeUndefined();
  });

  it('an inner call for another request gives its streams its own request, and the outer one is back after it', () => {
    const other = { name: 'B' };
    const outerStart = tick();
    const outerStream = tick();
    const seen: Array<object | undefined> = [];
    subscribeForRequest(
      request,
      outerStart,
      defer(() => {
        const innerStart = tick();
        const innerStream = tick();
        subscribeForRequest(other, innerStart, given(innerStream, seen), {});
        // The outer route's stream, made before the inner handler started: not the inner request's.
        subscribeForRequest(other, innerStart, given(outerStream, seen), {});
        return given(outerStream, seen);
      }),
      {},
    );
    expect(seen).toEqual([other, undefined, request]);
  });
});
