import { jest } from '@jest/globals';

import { SseExpiryScheduler } from './sse-expiry.scheduler.js';

describe('SseExpiryScheduler', () => {
  beforeEach(() => jest.useFakeTimers({ now: 1_000_000 }));
  afterEach(() => jest.useRealTimers());

  it('expires items within a second after their time, with one timer for all', () => {
    const expired: string[] = [];
    const scheduler = new SseExpiryScheduler<string>((item) => expired.push(item));
    scheduler.schedule('a', 1_002_000);
    scheduler.schedule('b', 1_002_000);
    scheduler.schedule('c', 1_003_500);
    expect(jest.getTimerCount()).toBe(1);
    jest.advanceTimersByTime(1000);
    expect(expired).toEqual([]);
    jest.advanceTimersByTime(1000);
    expect(expired).toEqual(['a', 'b']);
    jest.advanceTimersByTime(2000);
    expect(expired).toEqual(['a', 'b', 'c']);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('forgets cancelled items and stops its timer when nothing waits', () => {
    const expired: string[] = [];
    const scheduler = new SseExpiryScheduler<string>((item) => expired.push(item));
    const bucket = scheduler.schedule('a', 1_005_000);
    scheduler.cancel('a', bucket);
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(10_000);
    expect(expired).toEqual([]);
  });

  it('expires an item that is already due on the next turn', () => {
    const expired: string[] = [];
    const scheduler = new SseExpiryScheduler<string>((item) => expired.push(item));
    scheduler.schedule('late', 999_000);
    expect(expired).toEqual([]);
    jest.runOnlyPendingTimers();
    expect(expired).toEqual(['late']);
  });
});
