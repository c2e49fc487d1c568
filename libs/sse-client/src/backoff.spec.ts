import { describe, expect, it } from '@jest/globals';
import { DEFAULT_BACKOFF, MIN_RECOVERY_DELAY_MS, backoffDelay, resolveBackoff } from './backoff.js';

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

  it('draws equal jitter from [d/2, d], never below initialMs', () => {
    const backoff = resolveBackoff({ initialMs: 1000, maxMs: 10_000, factor: 2, jitter: 0.5 });
    expect(backoffDelay(3, backoff, () => 0)).toBe(4000);
    expect(backoffDelay(3, backoff, () => 0.999999)).toBe(8000);
    expect(backoffDelay(3, backoff, () => 0.5)).toBe(6000);
    expect(backoffDelay(0, backoff, () => 0)).toBe(1000);
  });

  it('floors full jitter at initialMs and caps it at maxMs', () => {
    const backoff = resolveBackoff({ initialMs: 500, maxMs: 4000, factor: 3, jitter: 1 });
    for (let attempt = 0; attempt < 10; attempt += 1) {
      for (const r of [0, 0.25, 0.5, 0.99]) {
        const delay = backoffDelay(attempt, backoff, () => r);
        expect(delay).toBeGreaterThanOrEqual(500);
        expect(delay).toBeLessThanOrEqual(4000);
      }
    }
    expect(backoffDelay(1, backoff, () => 0)).toBe(500);
    expect(backoffDelay(1, backoff, () => 0.5)).toBe(1000);
  });

  it('spreads delays with Math.random by default', () => {
    const backoff = resolveBackoff({ initialMs: 1000, maxMs: 60_000, factor: 2, jitter: 1 });
    const delays = new Set(Array.from({ length: 20 }, () => backoffDelay(5, backoff)));
    expect(delays.size).toBeGreaterThan(1);
  });
});
