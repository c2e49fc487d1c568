import { jest } from '@jest/globals';
import { Observable } from 'rxjs';
import { releaseStreamSlot, STREAM_CLAIM_WINDOW_MS, SseStreamLease } from './sse-stream.lease.js';

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

  it('is found on the Observable it was attached to by releaseStreamSlot (what the sink calls for a HEAD); an Observable without one is left alone', () => {
    const slot = countedSlot();
    const stream = new SseStreamLease(slot).attachTo(new Observable<never>());
    releaseStreamSlot(stream);
    expect(slot.releases).toBe(1);
    expect(() => releaseStreamSlot(new Observable<never>())).not.toThrow();
  });
});
