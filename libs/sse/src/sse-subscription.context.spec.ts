import { defer, Observable, of } from 'rxjs';
import { subscribeForRequest, subscribingRequest } from './sse-subscription.context.js';

/** An Observable that records, as it is subscribed, the request the sink subscribes it for. */
function recording(seen: Array<object | undefined>, inner?: () => void): Observable<number> {
  return defer(() => {
    seen.push(subscribingRequest());
    inner?.();
    seen.push(subscribingRequest());
    return of(1);
  });
}

describe('subscribeForRequest', () => {
  const outer = { name: 'outer' };
  const inner = { name: 'inner' };

  it('gives the request to what is subscribed in the call, and none after it', () => {
    const seen: Array<object | undefined> = [];
    expect(subscribingRequest()).toBeUndefined();
    subscribeForRequest(outer, recording(seen), {});
    expect(seen).toEqual([outer, outer]);
    expect(subscribingRequest()).toBeUndefined();
  });

  it('puts the outer request back after an inner call for another request', () => {
    const seen: Array<object | undefined> = [];
    const innerSeen: Array<object | undefined> = [];
    subscribeForRequest(outer, recording(seen, () => subscribeForRequest(inner, recording(innerSeen), {})), {});
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
      recording(seen, () => {
        expect(() => subscribeForRequest(inner, throwing, {})).toThrow('thrown as it is subscribed');
      }),
      {},
    );
    expect(seen).toEqual([outer, outer]);
    expect(subscribingRequest()).toBeUndefined();

    expect(() => subscribeForRequest(outer, throwing, {})).toThrow('thrown as it is subscribed');
    expect(subscribingRequest()).toBeUndefined();
  });
});
