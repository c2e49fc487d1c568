import { jest } from '@jest/globals';
import { concat, defer, Observable, of } from 'rxjs';

import { isSubscribedAsHead, SseStreamLease, STREAM_CLAIM_WINDOW_MS, subscribeAsHead } from './sse-stream.lease.js';

/** A presence slot that counts its releases. */
function countedSlot() {
  const slot = { releases: 0, release: () => void slot.releases++ };
  return slot;
}

describe('SseStreamLease', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('hands its slot to one claim, and stops its claim window: the slot is then the claimer’s to release', () => {
    const slot = countedSlot();
    const lease = new SseStreamLease(slot);
    expect(lease.claim()).toBe(slot);
    expect(jest.getTimerCount()).toBe(0);
    lease.release();
    jest.advanceTimersByTime(STREAM_CLAIM_WINDOW_MS * 2);
    expect(slot.releases).toBe(0);
  });

  it('refuses a second claim, and a claim after the slot was given back (a stream without its slot would break the limit)', () => {
    const claimed = new SseStreamLease(countedSlot());
    claimed.claim();
    expect(() => claimed.claim()).toThrow(/opens once.*claimed by another subscription or given back/);
    const released = new SseStreamLease(countedSlot());
    released.release();
    expect(() => released.claim()).toThrow(/opens once/);
  });

  it('gives the slot back once, however often released', () => {
    const slot = countedSlot();
    const lease = new SseStreamLease(slot);
    lease.release();
    lease.release();
    jest.advanceTimersByTime(STREAM_CLAIM_WINDOW_MS);
    expect(slot.releases).toBe(1);
  });

  it(`gives back an unclaimed slot at the end of the claim window (${STREAM_CLAIM_WINDOW_MS} ms), not before`, () => {
    const slot = countedSlot();
    const lease = new SseStreamLease(slot);
    jest.advanceTimersByTime(STREAM_CLAIM_WINDOW_MS - 1);
    expect(slot.releases).toBe(0);
    jest.advanceTimersByTime(1);
    expect(slot.releases).toBe(1);
    expect(() => lease.claim()).toThrow(/opens once/);
  });
});

describe('subscribeAsHead', () => {
  it('marks the subscription under way as a HEAD’s, through wrappers subscribed at once (concat, defer), and unsubscribes at once', () => {
    const seen: boolean[] = [];
    let tornDown = 0;
    const inner = new Observable<number>(() => {
      seen.push(isSubscribedAsHead());
      return () => void tornDown++;
    });
    const received: number[] = [];
    subscribeAsHead(
      concat(
        of(1),
        defer(() => inner),
      ),
      { next: (n) => received.push(n) },
    );
    expect({ seen, tornDown, received, after: isSubscribedAsHead() }).toEqual({
      seen: [true],
      tornDown: 1,
      received: [1],
      after: false,
    });
  });

  it('hands a failure as it is subscribed to the observer, and is no HEAD’s once a subscription threw', () => {
    const failures: unknown[] = [];
    subscribeAsHead(
      defer(() => {
        throw new Error('over the limit');
      }),
      { error: (err) => failures.push(err) },
    );
    expect(failures).toEqual([new Error('over the limit')]);
    const throwing = {
      subscribe: () => {
        throw new Error('not an Observable');
      },
    } as unknown as Observable<never>;
    expect(() => subscribeAsHead(throwing, {})).toThrow('not an Observable');
    expect(isSubscribedAsHead()).toBe(false);
  });
});
