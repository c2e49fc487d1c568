import { describe, expect, it } from '@jest/globals';

import { backoffDelay, DEFAULT_BACKOFF, MIN_RECOVERY_DELAY_MS, resolveBackoff } from './backoff.js';

describe('resolveBackoff', () => {
  it('fills in the defaults', () => {
    expect(resolveBackoff()).toEqual(DEFAULT_BACKOFF);
    expect(resolveBackoff({ maxMs: 5000 })).toEqual({ ...DEFAULT_BACKOFF, maxMs: 5000 });
  });

  it('clamps values that would allow a hot loop or make no sense', () => {
    const backoff = resolveBackoff({ initialMs: 0, maxMs: 10, factor: 0.5, jitter: 3 });
    expect(backoff).toEqual({ initialMs: MIN_RECOVERY_DELAY_MS, maxMs: MIN_RECOVERY_DELAY_MS, factor: 1, jitter: 1 });
    expect(resolveBackoff({ jitter: -1 }).jitter).toBe(0);
  });

  it('refuses non-numbers', () => {
    expect(() => resolveBackoff({ initialMs: Number.NaN })).toThrow(RangeError);
    expect(() => resolveBackoff({ factor: '2' as unknown as number })).toThrow(/backoff.factor/);
    expect(() => resolveBackoff({ initialMs: Number.POSITIVE_INFINITY })).toThrow(RangeError);
  });
});

describe('backoffDelay', () => {
  const noJitter = resolveBackoff({ initialMs: 1000, maxMs: 10_000, factor: 2, jitter: 0 });

  it('grows exponentially and is capped', () => {
    const delays = [0, 1, 2, 3, 4, 5, 50, 5000].map((attempt) => backoffDelay(attempt, noJitter));
    expect(delays).toEqual([1000, 2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000]);
  });

  it('draws equal jitter from [d/2, d]', () => {
    const backoff = resolveBackoff({ initialMs: 1000, maxMs: 10_000, factor: 2, jitter: 0.5 });
    expect(backoffDelay(3, backoff, () => 0)).toBe(4000);
    expect(backoffDelay(3, backoff, () => 0.999999)).toBe(8000);
    expect(backoffDelay(3, backoff, () => 0.5)).toBe(6000);
    expect(backoffDelay(0, backoff, () => 0)).toBe(500);
  });

  it('floors full jitter at MIN_RECOVERY_DELAY_MS and caps it at maxMs', () => {
    const backoff = resolveBackoff({ initialMs: 500, maxMs: 4000, factor: 3, jitter: 1 });
    for (let attempt = 0; attempt < 10; attempt += 1) {
      for (const r of [0, 0.25, 0.5, 0.99]) {
        const delay = backoffDelay(attempt, backoff, () => r);
        expect(delay).toBeGreaterThanOrEqual(MIN_RECOVERY_DELAY_MS);
        expect(delay).toBeLessThanOrEqual(4000);
      }
    }
    expect(backoffDelay(1, backoff, () => 0)).toBe(MIN_RECOVERY_DELAY_MS);
    expect(backoffDelay(1, backoff, () => 0.5)).toBe(800);
  });

  it('has full jitter from the first retry by default: a fleet dropped together spreads over [100, 1000] ms', () => {
    const backoff = resolveBackoff();
    expect(backoff.jitter).toBe(1);
    const first = Array.from({ length: 2000 }, () => backoffDelay(0, backoff));
    expect(Math.min(...first)).toBeGreaterThanOrEqual(MIN_RECOVERY_DELAY_MS);
    expect(Math.max(...first)).toBeLessThanOrEqual(1000);
    // Uniform: each tenth of the range holds about 200 of 2,000 draws.
    const tenths = new Array<number>(10).fill(0);
    for (const delay of first) tenths[Math.min(9, Math.floor((delay - MIN_RECOVERY_DELAY_MS) / 90))] += 1;
    for (const count of tenths) expect(count).toBeGreaterThan(100);
  });

  it('spreads delays with Math.random by default', () => {
    const backoff = resolveBackoff({ initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 1 });
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelay(5, backoff)));
    expect(delays.size).toBeGreaterThan(1);
  });
});
