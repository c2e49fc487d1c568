import { resolveSseOptions } from '../options/sse-options.resolver.js';
import { SseRetryHint } from './sse-retry.hint.js';

describe('SseRetryHint', () => {
  it('draws each delay within [retryMs, retryMs + retryJitterMs], reaching both ends', () => {
    const hint = new SseRetryHint(1000, 3);
    const draws = new Set(Array.from({ length: 500 }, () => hint.delayMs()));
    expect([...draws].sort()).toEqual([1000, 1001, 1002, 1003]);
  });

  it('draws no jitter with retryJitterMs 0, and Retry-After in whole seconds rounded up', () => {
    expect(new SseRetryHint(2500, 0).delayMs()).toBe(2500);
    expect(new SseRetryHint(2500, 0).retryAfterSec()).toBe(3);
  });

  it("frames the hint with its reason and no id (the client's Last-Event-ID stays)", () => {
    const frame = new SseRetryHint(1000, 0).frame('capacity');
    expect(frame.text).toBe('retry: 1000\n: server at capacity: reconnect later\n\n');
    expect(frame.id).toBeUndefined();
  });
});

describe('shutdown and capacity options', () => {
  it('defaults to a 3000 ms jitter, a 5000 ms hard timeout and no global cap', () => {
    expect(resolveSseOptions({ jwt: { secret: 's' } })).toMatchObject({
      retryJitterMs: 3000,
      shutdownTimeoutMs: 5000,
      maxConnections: Number.POSITIVE_INFINITY,
    });
  });

  it.each([
    [{ maxConnections: 0 }, /maxConnections must be an integer >= 1/],
    [{ maxConnections: 2.5 }, /maxConnections/],
    [{ retryJitterMs: -1 }, /retryJitterMs must be an integer between 0 and 2147483647/],
    [{ shutdownTimeoutMs: 2 ** 31 }, /shutdownTimeoutMs must be an integer between 0 and 2147483647/],
  ])('fails fast on %j', (options, message) => {
    expect(() => resolveSseOptions({ jwt: { secret: 's' }, ...options })).toThrow(message);
  });
});
